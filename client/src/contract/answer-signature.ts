/**
 * Signed answers of the client API (docs/server.md#signed-answers): every answer is signed over
 * a nonce the client chose, so a client detects a spoofed server or a replay.
 *
 * The client sends a fresh random nonce with each request (`Licensor-Nonce`). The server signs,
 * with its current token-signing key, the exact bytes of the answer body together with that
 * nonce, the request it answers (method, path, SHA-256 of the request body) and the HTTP status:
 *
 *   Licensor-Signature: kid="<kid>", alg="EdDSA", sig="<base64url signature>"
 *
 * The nonce is covered by the signature rather than copied into the body: the client checks it
 * against the nonce it generated itself, so there is no echoed field to forget to compare, and
 * because the request is covered too, a fake server cannot pass off the signed answer to another
 * request (say, a refusal for a bogus activation id) that it sent with the same nonce.
 *
 * This format is shared by the server (which signs) and the client (which verifies). The signing
 * input starts with a line that can never begin a JWS signing input (those are base64url only), so
 * an answer signature can never be mistaken for a token signature made by the same key.
 */
import { createHash, randomBytes } from 'node:crypto';
import { verifySignature, type JwsAlgorithm, type KeySet, type SignatureFailure } from './key-set';

export const NONCE_HEADER = 'licensor-nonce';
export const SIGNATURE_HEADER = 'licensor-signature';
/**
 * Sent as `Licensor-Accept-Covered: token` by a client that takes an activation's answer as
 * authenticated by its lease token alone (`covered="token"`): the token then carries the request's
 * nonce and the secret's hash, and the answer is not signed a second time. Clients that do not
 * send it (older ones) get a body signature, as before (docs/server.md "Signed answers").
 */
export const ACCEPT_COVERED_HEADER = 'licensor-accept-covered';
/** 16 random bytes in base64url are 22 characters; the server accepts 16–128. */
export const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

const SIGNING_CONTEXT = 'licensor-answer/1';

export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * What the digest line holds when the server answered without reading the body that was sent
 * (413: too large to read; docs/server.md "Signed answers"). Never a digest, which has 43 characters.
 */
export const UNREAD_BODY = '-';

/** base64url(SHA-256(bytes)); the empty body has a digest too. */
export function requestDigest(body: Buffer | Uint8Array | null | undefined): string {
  return createHash('sha256')
    .update(body ?? Buffer.alloc(0))
    .digest('base64url');
}

export interface AnsweredRequest {
  nonce: string;
  method: string;
  /** The path and query as the server routed it, e.g. `/v1/activations/…`. */
  target: string;
  requestDigest: string;
  status: number;
}

/** The bytes the signature covers. */
export function answerSigningInput(request: AnsweredRequest, body: Buffer): Buffer {
  const head = `${SIGNING_CONTEXT}\n${request.nonce}\n${request.method.toUpperCase()} ${request.target}\n${request.requestDigest}\n${request.status}\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), body]);
}

export interface SignatureHeader {
  kid: string;
  alg: string;
  /** Absent when the answer is authenticated by the lease token it carries (`covered="token"`). */
  sig: string | null;
  covered: string | null;
}

/** Parses `kid="…", alg="…", sig="…"` (RFC 8941-style parameters); null when malformed. */
export function parseSignatureHeader(value: string | null | undefined): SignatureHeader | null {
  if (typeof value !== 'string' || value.length > 1024) return null;
  const params = new Map<string, string>();
  for (const part of value.split(',')) {
    const m = /^\s*([a-z]+)="([^"]*)"\s*$/.exec(part);
    if (!m || params.has(m[1]!)) return null;
    params.set(m[1]!, m[2]!);
  }
  const kid = params.get('kid');
  const alg = params.get('alg');
  const sig = params.get('sig') ?? null;
  if (!kid || !alg || (sig !== null && !/^[A-Za-z0-9_-]+$/.test(sig))) return null;
  return { kid, alg, sig, covered: params.get('covered') ?? null };
}

export type AnswerFailure = 'unsigned' | SignatureFailure;

/** Verifies a body signature with the client's trusted keys (verifySignature, key-set.ts); null when it holds. Never throws. */
export function verifyAnswerSignature(header: SignatureHeader, input: Buffer, keys: KeySet, algorithms: ReadonlySet<JwsAlgorithm>): AnswerFailure | null {
  if (header.sig === null) return 'unsigned';
  return verifySignature(algorithms, header.alg, keys.get(header.kid), input, header.sig);
}
