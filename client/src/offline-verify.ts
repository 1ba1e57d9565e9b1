/**
 * Offline verification of lease tokens (docs/client.md "Speed"): a token is verified here once per
 * token string (contract/jws.ts, contract/lease-claims.ts, the fingerprint match); every later
 * `check()` of the same token only runs `VerifiedLease.resultAt`.
 */
import type { FingerprintHashes } from './contract/fingerprint/components';
import { matchFingerprint, type MatchStrategy } from './contract/fingerprint/matching';
import { isObject } from './contract/is-object';
import { headerOf, verifyCompactJws, type JwsFailure } from './contract/jws';
import type { JwsAlgorithm, KeySet } from './contract/key-set';
import { parseLeaseClaims, type LeaseClaims } from './contract/lease-claims';
import { updateNotice } from './update-notice';
import { invalidResult, NO_FACTS, validResult, type CheckReason, type CheckResult, type LicenseFacts, type LicenseStatus } from './license-state';

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

/**
 * The activation id a token names, read WITHOUT verifying it: only for asking the server, which
 * checks the token or the fingerprint itself (heartbeat, deactivation).
 */
export function unverifiedActivationId(token: string): string | null {
  const activation = unverifiedPayload(token)?.activation;
  return isObject(activation) && typeof activation.id === 'string' ? activation.id : null;
}

/** The `nonce` a token says it carries, before its signature is checked: enough to refuse a token that does not carry the one expected. */
export function unverifiedNonce(token: string): string | null {
  const nonce = unverifiedPayload(token)?.nonce;
  return typeof nonce === 'string' ? nonce : null;
}

function unverifiedPayload(token: string): Record<string, unknown> | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return isObject(payload) ? payload : null;
  } catch {
    return null;
  }
}

/** The once-per-token checks, in the order that gives the most useful reason. */
function verifyLease(token: string, expect: LeaseExpectations): LeaseOutcome {
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
