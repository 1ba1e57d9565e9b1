import { IllegalTransition } from './errors';
import { isUsable, type CodeStatus, type LicenseCode } from './types';

/**
 * The authorization-code state machine (docs/server.md#lifecycle), as pure functions.
 * Each returns the next status, or null when the request is already satisfied
 * (the marketplace retries: a repeated freeze or release succeeds without a second transition).
 */

/** The status a reader should see right now: an alive code past its date is expired even before the sweeper runs. */
export function effectiveStatus(code: Pick<LicenseCode, 'status' | 'expiresAt'>, now: number): CodeStatus {
  if (isUsable(code.status) && code.expiresAt <= now) return 'expired';
  return code.status;
}

function statusByDate(code: Pick<LicenseCode, 'firstActivatedAt'>, expiresAt: number, now: number): CodeStatus {
  if (expiresAt <= now) return 'expired';
  return code.firstActivatedAt === null ? 'issued' : 'alive';
}

/** renew / shorten: a new expiry date; expired ↔ alive follows the date, frozen stays frozen. */
export function statusAfterExpiryChange(code: Pick<LicenseCode, 'status' | 'firstActivatedAt'>, newExpiresAt: number, now: number): CodeStatus {
  switch (code.status) {
    case 'released':
      throw new IllegalTransition(code.status, 'renew');
    case 'frozen':
      return 'frozen';
    case 'expired':
      // docs/server.md#lifecycle: renew moves expired → alive when the new date is in the future.
      return newExpiresAt > now ? 'alive' : 'expired';
    case 'issued':
    case 'alive':
      return statusByDate(code, newExpiresAt, now);
  }
}

export function statusAfterFreeze(code: Pick<LicenseCode, 'status'>): CodeStatus | null {
  if (code.status === 'frozen') return null;
  if (code.status === 'released') throw new IllegalTransition(code.status, 'freeze');
  return 'frozen';
}

/** Unfreeze goes back to alive or expired by date (issued when it was never activated). */
export function statusAfterUnfreeze(code: Pick<LicenseCode, 'status' | 'expiresAt' | 'firstActivatedAt'>, now: number): CodeStatus | null {
  if (code.status === 'released') throw new IllegalTransition(code.status, 'unfreeze');
  if (code.status !== 'frozen') return null;
  return statusByDate(code, code.expiresAt, now);
}

export function statusAfterRelease(code: Pick<LicenseCode, 'status'>): CodeStatus | null {
  return code.status === 'released' ? null : 'released';
}

/** Activation needs a usable code; the error says why not. */
export function assertActivatable(code: Pick<LicenseCode, 'status' | 'expiresAt'>, now: number): void {
  const status = effectiveStatus(code, now);
  if (isUsable(status)) return;
  throw new IllegalTransition(status, 'activate');
}

/** Marketplace-facing words (docs/server.md#status-words-the-marketplace-sees). */
export function marketplaceStatus(status: CodeStatus): 'ALIVE' | 'EXPIRED' | 'RELEASED' {
  if (isUsable(status)) return 'ALIVE';
  if (status === 'released') return 'RELEASED';
  return 'EXPIRED';
}
