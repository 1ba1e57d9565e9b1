import { requireHolder, type ActivationProof } from './activation-proof';
import { auditEvent } from './audit';
import type { DomainContext } from './context';
import { ActivationCloned, Conflict, NotFound } from './errors';
import { assertSlotFree, limitsConcurrency } from './in-use-slots';
import { issueLease, leaseEndMs } from './lease-token';
import { effectiveStatus } from './lifecycle';
import { notingLimits } from './limit-events';
import type { HeartbeatView } from './ports';
import { applyEnrolment, foreignBeatSinceLast, judgeEnrolment, type EnrolmentVerdict } from './re-enrolment';
import { isUsable, type Activation, type CodeStatus, type FingerprintHashes, type LicenseCode, type Product } from './types';

/**
 * The heartbeat: most of the server's traffic, so its fast path is kept in a few known places and
 * kept short. A beat travels, in order:
 *
 *   1. src/server.ts + src/http/heartbeat/message-classes.ts: the request and response objects are
 *      Express's from birth, so nothing re-prototypes them per request;
 *   2. src/http/heartbeat/direct-route.ts: exactly `POST /v1/heartbeat` skips Express's router;
 *      src/http/heartbeat/in-flight.ts counts what else is being answered;
 *   3. src/http/heartbeat/heartbeat-route.ts: the signed-answer wrapper, the JSON body, a fast
 *      shape check of the common body (src/application/schemas.ts readHeartbeatRequest);
 *   4. recordHeartbeat below: one read of activation + code + product, from memory when cached
 *      (src/storage/heartbeat/heartbeat-view-cache.ts, kept coherent across processes by
 *      view-change-feed.ts; read through heartbeat-reader.ts's prepared statement otherwise), the
 *      proof of possession as a hash comparison, the fingerprint match, one lease token;
 *   5. src/tokens/key-ring.ts + signature-scheduler.ts: one signature with a cached key object,
 *      inline for a lone request, on libuv's thread pool otherwise (the server's RequestLoad,
 *      wired in src/runtime.ts);
 *   6. src/storage/heartbeat/heartbeat-writer.ts: liveness and the per-product beat counts are
 *      coalesced and flushed every LICENSOR_HEARTBEAT_FLUSH_MS, never written per beat.
 *
 * What it must never do: take a lock or write per beat (rare events excepted, below); read more
 * than the one view; verify a signature for a client that proves possession with its secret;
 * import a key or build a JWS header per beat; sign twice (the token, which carries the client's
 * nonce, is the answer's signature). docs/performance.md has what each step costs.
 */

export interface HeartbeatRequest {
  activationId: string;
  /** The machine's fingerprint now; the lease token answers with exactly this one. */
  fingerprint: FingerprintHashes;
  /** Null when the client sent none: refused. */
  proof: ActivationProof | null;
}

export interface HeartbeatAnswer {
  status: CodeStatus;
  /** A fresh lease token while the license is usable; null once it is expired, frozen or released. */
  token: string | null;
  activation: Activation;
  code: LicenseCode;
  product: Product;
}

/**
 * The hot path (docs/server.md#client-api). One joined read (from memory when the view is cached:
 * src/storage/heartbeat/heartbeat-view-cache.ts), a hash comparison for the proof of possession, one
 * signature, and the liveness write handed to the coalescing recorder. It must not take a lock,
 * write per beat, verify a signature for a client that has its secret, or re-import a key. It
 * writes at once only for what is rare: a floating lease close to lapsing (so a beat and the
 * culler cannot both win), a re-enrolment, a beat that named another machine, a clone; and a
 * code with an in-use limit ("N machines, M at a time") claims its slot under the code's lock.
 *
 * `nonce` is the client's request nonce; the token carries it, so the one signature of the token
 * also authenticates the answer (docs/server.md "Signed answers").
 */
export async function recordHeartbeat(ctx: DomainContext, request: HeartbeatRequest, nonce: string | null = null): Promise<HeartbeatAnswer> {
  const view = await ctx.repo.readForHeartbeat(request.activationId);
  if (!view) throw new NotFound('activation_not_found', 'no such activation');
  const { code, product } = view;
  let activation = view.activation;
  await requireHolder(ctx, activation, request.proof);
  const now = ctx.clock.now();
  if (activation.status !== 'active') {
    // codeStatus lets a client tell a released code from a seat that was only deactivated. The
    // status as of now, as every answer gives it: a view may predate the sweep that stored it.
    throw new Conflict('activation_ended', `this activation was ${activation.status}; activate again`, {
      status: activation.status,
      codeStatus: effectiveStatus(code, now),
    });
  }
  if (activation.clonedAt !== null) throw new ActivationCloned(activation.clonedAt);
  const verdict = judgeEnrolment(activation, request.fingerprint, product, now);
  if (verdict.kind === 'alternating' || (verdict.kind !== 'mismatch' && verdict.kind !== 'refused' && foreignBeatSinceLast(activation))) {
    await markCloned(ctx, activation, verdict.kind === 'alternating' ? verdict.components : [], now);
  }
  activation = await applyEnrolment(ctx, activation, verdict as Exclude<EnrolmentVerdict, { kind: 'alternating' }>, now, 'client');
  const lease = { id: activation.id, fingerprint: request.fingerprint };
  if (limitsConcurrency(code)) return renewSlot(ctx, { activation, code, product }, lease, now, nonce);

  const lapsingSoon = product.seatMode === 'floating' && now - activation.lastHeartbeatAt > (product.leaseSeconds * 1000) / 2;
  if (lapsingSoon && !(await ctx.repo.activations.touch(activation.id, now))) {
    throw new Conflict('activation_ended', 'this activation lapsed; activate again', { status: 'culled' });
  }
  // Also after a touch: recording is what keeps this process's cached liveness current.
  ctx.heartbeats.record(activation.id, now);
  // In memory only: the per-minute count is written with the next coalesced flush.
  ctx.heartbeats.countBeat(product.id, now);

  const status = effectiveStatus(code, now);
  if (!isUsable(status)) return { status, token: null, activation, code, product };
  const { token } = await issueLease(ctx, { product, code, status, activation: lease, now, nonce });
  return { status, token, activation, code, product };
}

/**
 * A beat on an M-of-N code (src/domain/in-use-slots.ts): under the code's lock, keep or take an
 * in-use slot until the new token's exp, or refuse with concurrency_limit_reached. One short
 * transaction per beat, for these codes only.
 */
async function renewSlot(
  ctx: DomainContext,
  view: HeartbeatView,
  lease: Pick<Activation, 'id' | 'fingerprint'>,
  now: number,
  nonce: string | null,
): Promise<HeartbeatAnswer> {
  const { activation, product } = view;
  const held = await notingLimits(ctx, activation.codeId, 'client', () =>
    ctx.repo.transaction(async (tx) => {
      const code = await tx.codes.lockForUpdate(activation.codeId);
      if (!code) throw new NotFound('activation_not_found', 'no such activation');
      const status = effectiveStatus(code, now);
      if (!isUsable(status)) return { code, status, slotEnd: null };
      await assertSlotFree(tx, code, activation.id, now);
      const slotEnd = leaseEndMs(now, product.leaseSeconds, code);
      if (!(await tx.activations.holdSlot(activation.id, now, slotEnd))) {
        const ended = (await tx.activations.findById(activation.id))?.status ?? 'deactivated';
        throw new Conflict('activation_ended', `this activation was ${ended}; activate again`, { status: ended, codeStatus: code.status });
      }
      return { code, status, slotEnd };
    }),
  );
  ctx.heartbeats.countBeat(product.id, now);
  const { code, status } = held;
  if (held.slotEnd === null) return { status, token: null, activation, code, product };
  const { token } = await issueLease(ctx, { product, code, status, activation: lease, now, nonce });
  return { status, token, activation: { ...activation, inUseUntil: held.slotEnd, lastHeartbeatAt: now }, code, product };
}

/**
 * Beats of two machines taking turns on one activation (src/domain/re-enrolment.ts): it is marked
 * cloned, audited once, and every beat is refused from now on.
 */
async function markCloned(ctx: DomainContext, activation: Activation, components: string[], now: number): Promise<never> {
  await ctx.repo.transaction(async (tx) => {
    if (await tx.activations.markCloned(activation.id, now)) {
      await tx.audit.insert([
        auditEvent(ctx, now, 'client', 'activation.clone_suspected', { type: 'activation', id: activation.id }, activation.codeId, null, {
          reason: 'alternating_fingerprints',
          components,
        }),
      ]);
    }
  });
  throw new ActivationCloned(now);
}
