/**
 * The JWS primitive both sides verify with (RFC 7515 compact serialization, RFC 8037 EdDSA,
 * RFC 7518 ES256): the client's lease tokens and key endorsements, the server's proof that a
 * client holds an activation. node:crypto and KeyObjects imported once, no JOSE library: a
 * generic verify reaches about half the speed of a bare `crypto.verify`, and the strict subset
 * accepted here is short enough to read in one sitting.
 */
import { signatureToVerify, verifies, type JwsKey, type SignatureToVerify } from './key-set';

export interface JwsHeader {
  alg: string;
  kid?: string;
  typ?: string;
  [name: string]: unknown;
}

export type JwsFailure = 'malformed' | 'alg_not_allowed' | 'unknown_key' | 'bad_signature';

export type JwsVerification = { ok: true; header: JwsHeader; payload: Buffer } | { ok: false; failure: JwsFailure };

// Exactly three non-empty base64url parts: no padding, no `+/`, no JSON serialization, no
// detached or empty payload, no `alg: none` with an empty signature.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 16_384;

// A server signs every token of one key with the same header: parse each distinct one once.
const HEADER_CACHE_LIMIT = 32;
const headerCache = new Map<string, JwsHeader | null>();

function parseHeader(segment: string): JwsHeader | null {
  const cached = headerCache.get(segment);
  if (cached !== undefined) return cached;
  let header: JwsHeader | null = null;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as JwsHeader).alg === 'string') {
      header = value as JwsHeader;
      // RFC 7515 §4.1.11: a `crit` we do not understand must be rejected; we understand none.
      // RFC 7797 `b64` changes what is signed; refuse it outright.
      if ('crit' in header || 'b64' in header) header = null;
      if (header && header.kid !== undefined && typeof header.kid !== 'string') header = null;
    }
  } catch {
    header = null;
  }
  if (headerCache.size >= HEADER_CACHE_LIMIT) headerCache.clear();
  headerCache.set(segment, header);
  return header;
}

/**
 * Verifies a compact JWS and returns its header and payload bytes. `keyFor` resolves the key
 * the header names; `signatureToVerify` (key-set.ts) applies the `algorithms` allow-list, and
 * `verifies` checks the signature. Never throws.
 */
export function verifyCompactJws(jws: string, algorithms: ReadonlySet<string>, keyFor: (header: JwsHeader) => JwsKey | undefined): JwsVerification {
  const opened = openCompactJws(jws, algorithms, keyFor);
  if (!opened.ok) return opened;
  if (!verifies(opened.signature, opened.input)) return { ok: false, failure: 'bad_signature' };
  return { ok: true, header: opened.header, payload: opened.payload };
}

/** A compact JWS that passed every check but its signature's cryptography: what to verify, and what it says. */
export type OpenedJws = { ok: true; header: JwsHeader; payload: Buffer; input: Buffer; signature: SignatureToVerify } | { ok: false; failure: JwsFailure };

/**
 * Everything verifyCompactJws checks, but the signature's cryptography, which the caller then
 * does elsewhere (the server, on its thread pool) with `input` and `signature`. Never throws.
 */
export function openCompactJws(jws: string, algorithms: ReadonlySet<string>, keyFor: (header: JwsHeader) => JwsKey | undefined): OpenedJws {
  if (typeof jws !== 'string' || jws.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(jws)) return { ok: false, failure: 'malformed' };
  const firstDot = jws.indexOf('.');
  const secondDot = jws.indexOf('.', firstDot + 1);
  const header = parseHeader(jws.slice(0, firstDot));
  if (header === null) return { ok: false, failure: 'malformed' };
  const signature = signatureToVerify(algorithms, header.alg, keyFor(header), jws.slice(secondDot + 1));
  // A signature of the wrong length is simply one that does not verify.
  if (typeof signature === 'string') return { ok: false, failure: signature === 'malformed_signature' ? 'bad_signature' : signature };
  return {
    ok: true,
    header,
    payload: Buffer.from(jws.slice(firstDot + 1, secondDot), 'base64url'),
    input: Buffer.from(jws.slice(0, secondDot), 'latin1'),
    signature,
  };
}

/** The header of a compact JWS, read WITHOUT verifying it (to name the key a token wants). */
export function headerOf(token: string): JwsHeader | null {
  const dot = token.indexOf('.');
  return dot > 0 ? parseHeader(token.slice(0, dot)) : null;
}
