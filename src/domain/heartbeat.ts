import { matchFingerprint, reEnrol } from '../../client/fingerprint/matching';
import { auditEvent } from './audit';
import type { DomainContext } from './context';
import { Conflict, FingerprintMismatch, NotFound } from './errors';
import { buildLeaseClaims } from './lease-token';
import { effectiveStatus } from './lifecycle';
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
 * The hot path (PRODUCT.md §4). One joined read, one signature, and the liveness write handed
 * to the coalescing recorder. It must not take a lock, write per beat, or re-import a key.
 * The only synchronous write is for a floating lease that is close to lapsing, so that
 * a beat and the culler cannot both win.
 */
export async function recordHeartbeat(ctx: DomainContext, activationId: string, fingerprint: FingerprintHashes): Promise<HeartbeatAnswer> {
  const view = await ctx.repo.readForHeartbeat(activationId);
  if (!view) throw new NotFound('activation_not_found', 'no such activation');
  const { activation, code, product } = view;
  if (activation.status !== 'active') {
    // codeStatus lets a client tell a released code from a seat that was only deactivated.
    throw new Conflict('activation_ended', `this activation was ${activation.status}; activate again`, { status: activation.status, codeStatus: code.status });
  }
  const match = matchFingerprint(activation.fingerprint, fingerprint, product.matchStrategy);
  if (!match.accepted) throw new FingerprintMismatch(match.reason);

  const now = ctx.clock.now();
  if (match.changed.length > 0) await reEnrolActivation(ctx, activation, fingerprint, match.changed, now);

  const lapsingSoon = product.seatMode === 'floating' && now - activation.lastHeartbeatAt > (product.leaseSeconds * 1000) / 2;
  if (lapsingSoon) {
    if (!(await ctx.repo.activations.touch(activation.id, now))) {
      throw new Conflict('activation_ended', 'this activation lapsed; activate again', { status: 'culled' });
    }
  } else {
    ctx.heartbeats.record(activation.id, now);
  }
  // In memory only: the per-minute count is written with the next coalesced flush.
  ctx.heartbeats.countBeat(product.id, now);

  const status = effectiveStatus(code, now);
  if (status !== 'alive' && status !== 'issued') return { status, token: null, activation, code, product };
  const token = ctx.tokens.sign(
    buildLeaseClaims({
      issuer: ctx.issuer,
      jti: ctx.ids.id(),
      product,
      code,
      status,
      activationId: activation.id,
      fingerprint: activation.fingerprint,
      now,
    }),
  );
  return { status, token, activation, code, product };
}

/** PRODUCT.md §6: an accepted partial match stores the new hashes, so hardware may drift one part at a time. */
async function reEnrolActivation(ctx: DomainContext, activation: Activation, current: FingerprintHashes, changed: string[], now: number) {
  activation.fingerprint = reEnrol(activation.fingerprint, current);
  await ctx.repo.transaction(async (tx) => {
    await tx.activations.replaceFingerprint(activation.id, activation.fingerprint);
    await tx.audit.insert([
      auditEvent(ctx, now, 'client', 'activation.reenrolled', { type: 'activation', id: activation.id }, activation.codeId, null, { changed }),
    ]);
  });
}
