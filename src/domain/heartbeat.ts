import { matchFingerprint, reEnrol } from '../../client/fingerprint/matching';
import { auditEvent } from './audit';
import type { DomainContext } from './context';
import { Conflict, FingerprintMismatch, NotFound } from './errors';
import { assertSlotFree, limitsConcurrency } from './in-use-slots';
import { issueLease, leaseEndMs } from './lease-token';
import { effectiveStatus } from './lifecycle';
import type { HeartbeatView } from './ports';
import type { Activation, CodeStatus, FingerprintHashes, LicenseCode, Product } from './types';

export interface HeartbeatAnswer {
  status: CodeStatus;
  /** A fresh lease token while the license is usable; null once it is expired, frozen or released. */
  token: string | null;
  activation: Activation;
  code: LicenseCode;
  product: Product;
}

/**
 * The hot path (PRODUCT.md §4). One joined read (from memory when the view is cached: src/storage/
 * heartbeat-view-cache.ts), one signature, and the liveness write handed
 * to the coalescing recorder. It must not take a lock, write per beat, or re-import a key.
 * The only synchronous write is for a floating lease that is close to lapsing, so that
 * a beat and the culler cannot both win. The exception is a code with an in-use limit
 * ("N machines, M at a time"): its beats claim a slot under the code's lock (renewSlot).
 *
 * `nonce` is the client's request nonce; the token carries it, so the one signature of the token
 * also authenticates the answer (docs/server.md "Signed answers").
 */
export async function recordHeartbeat(
  ctx: DomainContext,
  activationId: string,
  fingerprint: FingerprintHashes,
  nonce: string | null = null,
): Promise<HeartbeatAnswer> {
  const view = await ctx.repo.readForHeartbeat(activationId);
  if (!view) throw new NotFound('activation_not_found', 'no such activation');
  const { code, product } = view;
  let activation = view.activation;
  const now = ctx.clock.now();
  if (activation.status !== 'active') {
    // codeStatus lets a client tell a released code from a seat that was only deactivated. The
    // status as of now, as every answer gives it: a view may predate the sweep that stored it.
    throw new Conflict('activation_ended', `this activation was ${activation.status}; activate again`, { status: activation.status, codeStatus: effectiveStatus(code, now) });
  }
  const match = matchFingerprint(activation.fingerprint, fingerprint, product.matchStrategy);
  if (!match.accepted) throw new FingerprintMismatch(match.reason);

  if (match.changed.length > 0) activation = await reEnrolActivation(ctx, activation, fingerprint, match.changed, now);
  if (limitsConcurrency(code)) return renewSlot(ctx, { activation, code, product }, now, nonce);

  const lapsingSoon = product.seatMode === 'floating' && now - activation.lastHeartbeatAt > (product.leaseSeconds * 1000) / 2;
  if (lapsingSoon && !(await ctx.repo.activations.touch(activation.id, now))) {
    throw new Conflict('activation_ended', 'this activation lapsed; activate again', { status: 'culled' });
  }
  // Also after a touch: recording is what keeps this process's cached liveness current.
  ctx.heartbeats.record(activation.id, now);
  // In memory only: the per-minute count is written with the next coalesced flush.
  ctx.heartbeats.countBeat(product.id, now);

  const status = effectiveStatus(code, now);
  if (status !== 'alive' && status !== 'issued') return { status, token: null, activation, code, product };
  const { token } = await issueLease(ctx, { product, code, status, activation, now, nonce });
  return { status, token, activation, code, product };
}

/**
 * A beat on an M-of-N code (src/domain/in-use-slots.ts): under the code's lock, keep or take an
 * in-use slot until the new token's exp, or refuse with concurrency_limit_reached. One short
 * transaction per beat, for these codes only.
 */
async function renewSlot(ctx: DomainContext, view: HeartbeatView, now: number, nonce: string | null): Promise<HeartbeatAnswer> {
  const { activation, product } = view;
  const held = await ctx.repo.transaction(async (tx) => {
    const code = await tx.codes.lockForUpdate(activation.codeId);
    if (!code) throw new NotFound('activation_not_found', 'no such activation');
    const status = effectiveStatus(code, now);
    if (status !== 'alive' && status !== 'issued') return { code, status, slotEnd: null };
    await assertSlotFree(tx, code, activation.id, now);
    const slotEnd = leaseEndMs(now, product.leaseSeconds, code);
    if (!(await tx.activations.holdSlot(activation.id, now, slotEnd))) {
      const ended = (await tx.activations.findById(activation.id))?.status ?? 'deactivated';
      throw new Conflict('activation_ended', `this activation was ${ended}; activate again`, { status: ended, codeStatus: code.status });
    }
    return { code, status, slotEnd };
  });
  ctx.heartbeats.countBeat(product.id, now);
  const { code, status } = held;
  if (held.slotEnd === null) return { status, token: null, activation, code, product };
  const { token } = await issueLease(ctx, { product, code, status, activation, now, nonce });
  return { status, token, activation: { ...activation, inUseUntil: held.slotEnd, lastHeartbeatAt: now }, code, product };
}

/** PRODUCT.md §6: an accepted partial match stores the new hashes, so hardware may drift one part at a time. */
async function reEnrolActivation(ctx: DomainContext, activation: Activation, current: FingerprintHashes, changed: string[], now: number): Promise<Activation> {
  const reEnrolled = { ...activation, fingerprint: reEnrol(activation.fingerprint, current) };
  await ctx.repo.transaction(async (tx) => {
    await tx.activations.replaceFingerprint(activation.id, reEnrolled.fingerprint);
    await tx.audit.insert([
      auditEvent(ctx, now, 'client', 'activation.reenrolled', { type: 'activation', id: activation.id }, activation.codeId, null, { changed }),
    ]);
  });
  return reEnrolled;
}
