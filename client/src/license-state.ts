import type { CodeStatus } from './contract/lease-claims';
import type { UpdateNotice } from './update-notice';

/**
 * What `check()` answers: the license state this machine may act on, with a stable reason.
 * docs/client.md lists what each reason means to an end user.
 */

/** The authorization code's lifecycle status as last seen (the server's words: contract/lease-claims.ts). */
export type LicenseStatus = CodeStatus;

/** Why a license is not valid. Stable strings: applications may switch on them. */
export type CheckReason =
  /** Nothing is stored: activate, or import a license file. */
  | 'no_license'
  /** The license itself has passed its expiry date (or the server said EXPIRED). */
  | 'expired'
  /** The lease ran out without a successful heartbeat: connect to renew it. */
  | 'lease_expired'
  /** The server froze the license (e.g. unpaid renewal); data is kept. */
  | 'frozen'
  /** The license was released on the server: terminal. */
  | 'released'
  /** The server ended this machine's seat (deactivated by the vendor, or a lapsed floating seat). */
  | 'deactivated'
  /** The stored license belongs to another machine. */
  | 'fingerprint_mismatch'
  /** This machine's fingerprint could not be read (the native addon failed to load or collect). */
  | 'fingerprint_unavailable'
  /** The system clock is behind a time this client has already seen. */
  | 'clock_tampered'
  /** The license starts in the future by more than the clock tolerance: the clock is behind. */
  | 'not_yet_valid'
  /** The token is malformed, uses a disallowed algorithm, an unknown key, or its signature fails. */
  | 'bad_signature'
  /** The token was issued for another product. */
  | 'wrong_product'
  /** The token was issued by another license server (`iss`). */
  | 'wrong_issuer'
  /** The store file is truncated, unreadable, or was edited. */
  | 'store_corrupt';

interface LicenseFacts {
  /** Status as last known; null when nothing trustworthy is known. */
  status: LicenseStatus | null;
  /** The license expiry; null when unknown. */
  expiresAt: Date | null;
  /** The end of the current lease (the token's `exp`): offline use is allowed until then. */
  leaseEndsAt: Date | null;
  features: readonly string[];
  seats: number | null;
  /**
   * Set when the vendor published a newer version than this application's (`version` option),
   * as of the last heartbeat; `required` when this version is below the published minimum.
   */
  update: UpdateNotice | null;
}

export type CheckResult = Readonly<LicenseFacts> &
  (
    | { readonly valid: true; readonly reason: null }
    | {
        readonly valid: false;
        readonly reason: CheckReason;
        /** For logs and support, not for end users: which check failed and how. */
        readonly detail?: string;
      }
  );

export const NO_FACTS: LicenseFacts = Object.freeze({
  status: null,
  expiresAt: null,
  leaseEndsAt: null,
  features: Object.freeze([]),
  seats: null,
  update: null,
});

/** Results are frozen and shared: `check()` hands out the same object until something changes. */
export function validResult(facts: LicenseFacts): CheckResult {
  return Object.freeze({ valid: true as const, reason: null, ...facts });
}

export function invalidResult(reason: CheckReason, facts: LicenseFacts = NO_FACTS, detail?: string): CheckResult {
  return Object.freeze({ valid: false as const, reason, ...facts, ...(detail === undefined ? {} : { detail }) });
}

export type { LicenseFacts };
