import { ConcurrencyLimitReached } from './errors';
import type { Stores } from './ports';
import type { LicenseCode } from './types';

/**
 * "N machines, M at a time" (docs/policies.md#n-machines-m-at-a-time): a code registers up to
 * `seats` machines, of which at most `maxConcurrent` hold an in-use slot at once. A slot is the
 * lease: it ends exactly when the lease token it came with expires (`in_use_until` = `exp`), so a
 * machine that stops beating keeps working offline only as long as it is still counted, and no
 * slot is handed on while a token for it is still valid.
 *
 * A lapsed slot needs no reclaiming: it simply stops counting. Its machine stays registered and
 * gets a slot again on its next beat if one is free — a laptop asleep over a weekend loses
 * nothing when nobody else wanted the slot (soft reclaim is inherent here).
 */
export function limitsConcurrency(code: Pick<LicenseCode, 'seats' | 'maxConcurrent'>): boolean {
  return code.maxConcurrent !== null && code.maxConcurrent < code.seats;
}

/**
 * Refuses when every slot is held by another machine. Must run under the code's lock
 * (CodeStore.lockForUpdate), in the transaction that then writes the slot, so racing claims on
 * one code count each other's commits on both engines.
 */
export async function assertSlotFree(tx: Stores, code: LicenseCode, activationId: string | null, now: number): Promise<void> {
  if (code.maxConcurrent === null) return;
  const held = await tx.activations.inUseSlots(code.id, now, activationId);
  if (held.count >= code.maxConcurrent) throw new ConcurrencyLimitReached(code.maxConcurrent, held.earliestEnd);
}
