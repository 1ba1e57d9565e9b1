/**
 * Offline verification of lease tokens (PRODUCT.md §5): compact JWS checked with node:crypto and
 * KeyObjects imported once. This is the hot path of `check()`: a token is verified here once per
 * token string; every later `check()` of the same token only runs `VerifiedLease.resultAt`.
 *
 * A JOSE library is deliberately not used: its generic verify reaches about half the speed of a
 * bare `crypto.verify`, and the strict subset we accept is short enough to read in one sitting.
 */
import type { FingerprintHashes } from './fingerprint/components';
import { matchFingerprint, type MatchStrategy } from './fingerprint/matching';
import { isObject } from './is-object';
import { verifySignature, type JwsAlgorithm, type JwsKey, type KeySet } from './key-set';
import { updateNotice } from './update-notice';
import { invalidResult, NO_FACTS, validResult, type CheckReason, type CheckResult, type LicenseFacts, type LicenseStatus } from './license-state';

// ---------------------------------------------------------------------------------------------
// The JWS primitive (RFC 7515 compact serialization, RFC 8037 EdDSA, RFC 7518 ES256)

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
 * the header names; `verifySignature` (key-set.ts) applies the `algorithms` allow-list and
 * checks the signature. Never throws.
 */
export function verifyCompactJws(
  jws: string,
  algorithms: ReadonlySet<string>,
  keyFor: (header: JwsHeader) => JwsKey | undefined,
): JwsVerification {
  if (typeof jws !== 'string' || jws.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(jws)) return { ok: false, failure: 'malformed' };
  const firstDot = jws.indexOf('.');
  const secondDot = jws.indexOf('.', firstDot + 1);
  const header = parseHeader(jws.slice(0, firstDot));
  if (header === null) return { ok: false, failure: 'malformed' };
  const failure = verifySignature(algorithms, header.alg, keyFor(header), Buffer.from(jws.slice(0, secondDot), 'latin1'), jws.slice(secondDot + 1));
  // A signature of the wrong length is simply one that does not verify.
  if (failure !== null) return { ok: false, failure: failure === 'malformed_signature' ? 'bad_signature' : failure };
  return { ok: true, header, payload: Buffer.from(jws.slice(firstDot + 1, secondDot), 'base64url') };
}

// ---------------------------------------------------------------------------------------------
// Lease claims (the server's src/domain/lease-token.ts; docs/server.md "Lease tokens")

export interface LeaseClaims {
  iss: string;
  aud: string | string[];
  sub: string;
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
  license: { status: LicenseStatus; expiresAt: number; seats: number; features: string[]; seatMode: string };
  activation: { id: string; fingerprint: FingerprintHashes };
  heartbeat: { intervalSeconds: number };
  /** The nonce of the request this token answered (client/answer-signature.ts). */
  nonce?: string;
  /** The product's published versions (client/update-notice.ts). */
  update?: { latestVersion: string; minimumVersion: string | null };
}

const STATUSES: ReadonlySet<string> = new Set(['issued', 'alive', 'expired', 'frozen', 'released']);

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** The claims, if the payload has the shape the server signs; `null` otherwise. */
export function parseLeaseClaims(payload: Buffer): LeaseClaims | null {
  let c: unknown;
  try {
    c = JSON.parse(payload.toString('utf8'));
  } catch {
    return null;
  }
  if (!isObject(c) || !isObject(c.license) || !isObject(c.activation) || !isObject(c.heartbeat)) return null;
  const { license, activation, heartbeat } = c;
  const audOk = isText(c.aud) || (Array.isArray(c.aud) && c.aud.every(isText));
  if (!isText(c.iss) || !audOk || !isText(c.sub) || !isText(c.jti)) return null;
  if (!isTime(c.iat) || !isTime(c.nbf) || !isTime(c.exp)) return null;
  if (typeof license.status !== 'string' || !STATUSES.has(license.status) || !isTime(license.expiresAt)) return null;
  if (!Number.isInteger(license.seats) || !Array.isArray(license.features) || !license.features.every((f) => typeof f === 'string')) return null;
  if (!isText(activation.id) || !isObject(activation.fingerprint) || !isTime(heartbeat.intervalSeconds)) return null;
  if (c.nonce !== undefined && typeof c.nonce !== 'string') return null;
  if (c.update !== undefined && !isObject(c.update)) return null;
  return c as unknown as LeaseClaims;
}

// ---------------------------------------------------------------------------------------------
// One token, verified once

export interface LeaseExpectations {
  issuer: string;
  product: string;
  algorithms: ReadonlySet<JwsAlgorithm>;
  keys: KeySet;
  matchStrategy: MatchStrategy;
  /** This machine's hashed fingerprint, or an error message when it cannot be read. */
  fingerprint: () => FingerprintHashes | Error;
  clockToleranceMs: number;
  /** This application's version, for update notices; null when not given. */
  version: string | null;
}

/** What the server said on a heartbeat that ended the license here; kept in the store. */
export type RevokedStatus = 'expired' | 'frozen' | 'released' | 'deactivated';

const JWS_DETAIL: Readonly<Record<JwsFailure, string>> = {
  malformed: 'the token is not a compact JWS with a JSON header',
  alg_not_allowed: 'the token uses an algorithm this client does not allow',
  unknown_key: 'the token names a signing key (kid) this client does not trust',
  bad_signature: 'the token signature does not verify',
};

/**
 * A token after the expensive checks (signature, issuer, audience, fingerprint), holding every
 * answer `check()` can give for it, built once. `resultAt` is the part that runs on every
 * `check()`: only comparisons of numbers, so a cached verdict can never outlive the lease or
 * survive a clock set back.
 */
export class VerifiedLease {
  readonly claims: LeaseClaims | null;
  /** Set when the only problem is a signing key this client does not know yet. */
  readonly unknownKid: string | null;
  /** Present when the token failed a check that no time or store state can change. */
  private readonly failure: CheckResult | null;
  private readonly nbfMs: number;
  private readonly expMs: number;
  private readonly licenseExpiresMs: number;
  private readonly facts: LicenseFacts;
  private readonly tolerance: number;
  private readonly answers = new Map<CheckReason, CheckResult>();
  private readonly valid: CheckResult;

  constructor(
    readonly token: string,
    expectations: LeaseExpectations,
  ) {
    this.tolerance = expectations.clockToleranceMs;
    const outcome = verifyLease(token, expectations);
    this.claims = outcome.claims;
    this.unknownKid = outcome.unknownKid ?? null;
    const c = outcome.claims;
    this.nbfMs = c ? c.nbf * 1000 : 0;
    this.expMs = c ? c.exp * 1000 : 0;
    this.licenseExpiresMs = c ? c.license.expiresAt * 1000 : 0;
    this.facts = c
      ? Object.freeze({
          status: c.license.status,
          expiresAt: new Date(this.licenseExpiresMs),
          leaseEndsAt: new Date(this.expMs),
          features: Object.freeze([...c.license.features]),
          seats: c.license.seats,
          update: updateNotice(expectations.version, c.update),
        })
      : NO_FACTS;
    this.failure = outcome.reason === null ? null : invalidResult(outcome.reason, outcome.reason === 'bad_signature' ? undefined : this.facts, outcome.detail);
    this.valid = validResult(this.facts);
  }

  /** When the server last vouched for this token (its `iat`), in ms; 0 when unverified. */
  get issuedAtMs(): number {
    return this.failure === null && this.claims ? this.claims.iat * 1000 : 0;
  }

  get verified(): boolean {
    return this.failure === null;
  }

  /** When `resultAt` turns from valid to expired or lease_expired by time alone (ms), or null. */
  get validUntilMs(): number | null {
    return this.failure === null ? Math.min(this.expMs, this.licenseExpiresMs) + this.tolerance : null;
  }

  /** The failure, if any, that makes this token unusable whatever the time. */
  get verdict(): CheckResult | null {
    return this.failure;
  }

  /**
   * HOT PATH, run by every `check()`. It must not do I/O, network, key import, JSON parsing,
   * fingerprint collection or allocation beyond the first answer of each kind.
   */
  resultAt(now: number, highWaterMs: number, revoked: RevokedStatus | null): CheckResult {
    if (this.failure !== null) return this.failure;
    if (now < highWaterMs - this.tolerance) return this.answer('clock_tampered', 'the clock is behind a time this client has already seen');
    if (revoked !== null) return this.answer(revoked, `the server answered ${revoked} on a heartbeat`, revoked === 'deactivated' ? undefined : revoked);
    const status = this.facts.status;
    if (status === 'expired' || status === 'frozen' || status === 'released') return this.answer(status, 'the token says so', status);
    if (now < this.nbfMs - this.tolerance) return this.answer('not_yet_valid', 'the token starts after the local clock');
    if (now >= this.licenseExpiresMs + this.tolerance) return this.answer('expired', 'past the license expiry', 'expired');
    if (now >= this.expMs + this.tolerance) return this.answer('lease_expired', 'past the lease end without a heartbeat');
    return this.valid;
  }

  // Each reason comes with one status (or none), so the reason alone keys the cached answer.
  private answer(reason: CheckReason, detail: string, status?: LicenseStatus): CheckResult {
    let result = this.answers.get(reason);
    if (result === undefined) {
      result = invalidResult(reason, status === undefined ? this.facts : { ...this.facts, status }, detail);
      this.answers.set(reason, result);
    }
    return result;
  }
}

interface LeaseOutcome {
  claims: LeaseClaims | null;
  reason: CheckReason | null;
  detail?: string;
  /** The `kid` no trusted key has, when that is why verification failed. */
  unknownKid?: string;
}

function headerOf(token: string): JwsHeader | null {
  const dot = token.indexOf('.');
  return dot > 0 ? parseHeader(token.slice(0, dot)) : null;
}

/**
 * The activation id a token names, read WITHOUT verifying it: only for asking the server, which
 * checks the token or the fingerprint itself (heartbeat, deactivation).
 */
export function unverifiedActivationId(token: string): string | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { activation?: { id?: unknown } };
    return typeof claims.activation?.id === 'string' ? claims.activation.id : null;
  } catch {
    return null;
  }
}

/** The once-per-token checks, in the order that gives the most useful reason. */
export function verifyLease(token: string, expect: LeaseExpectations): LeaseOutcome {
  const jws = verifyCompactJws(token, expect.algorithms, (header) => (header.kid === undefined ? undefined : expect.keys.get(header.kid)));
  if (!jws.ok) {
    const outcome: LeaseOutcome = { claims: null, reason: 'bad_signature', detail: JWS_DETAIL[jws.failure] };
    if (jws.failure === 'unknown_key') outcome.unknownKid = headerOf(token)?.kid;
    return outcome;
  }
  const claims = parseLeaseClaims(jws.payload);
  if (claims === null) return { claims: null, reason: 'bad_signature', detail: 'the signed payload is not a lease token' };
  if (claims.iss !== expect.issuer) return { claims, reason: 'wrong_issuer', detail: `issued by "${claims.iss}", expected "${expect.issuer}"` };
  const audience = typeof claims.aud === 'string' ? claims.aud === expect.product : claims.aud.includes(expect.product);
  if (!audience) return { claims, reason: 'wrong_product', detail: `issued for "${String(claims.aud)}", expected "${expect.product}"` };
  const current = expect.fingerprint();
  if (current instanceof Error) return { claims, reason: 'fingerprint_unavailable', detail: current.message };
  const match = matchFingerprint(claims.activation.fingerprint, current, expect.matchStrategy);
  if (!match.accepted) return { claims, reason: 'fingerprint_mismatch', detail: `fingerprint ${match.reason} (score ${match.score.toFixed(2)})` };
  return { claims, reason: null };
}
