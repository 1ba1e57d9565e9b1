import { anchorEntries, INSTANCE_COMPONENT, matchFingerprint, sharedAnchors } from '@licensor/client/contract';
import { hashSecret } from './activation-proof';
import { auditEvent, codeSnapshot } from './audit';
import { normalizeAuthorizationCode } from './authorization-code';
import { spendChurn } from './churn';
import type { DomainContext } from './context';
import { ActivationCloned, Forbidden, InvalidInput, NotFound, SeatLimitReached } from './errors';
import { assertSlotFree, limitsConcurrency } from './in-use-slots';
import { issueLease, leaseEndMs } from './lease-token';
import { notingLimits } from './limit-events';
import { assertActivatable } from './lifecycle';
import type { SeatLock, Stores } from './ports';
import { applyEnrolment, isSameMachine, judgeEnrolment } from './re-enrolment';
import type { Activation, Actor, AuditEvent, FingerprintHashes, LicenseCode, Product } from './types';

interface ActivationRequest {
  code: string;
  fingerprint: FingerprintHashes;
  environment?: Record<string, unknown>;
}

/** The seat a machine holds after activating: its activation, the code as it now is, and the product. */
interface BoundSeat {
  activation: Activation;
  code: LicenseCode;
  product: Product;
  /** False when this machine already held a seat and got it back. */
  created: boolean;
  /** The transaction's time: a lease signed for this seat starts here, so its exp is exactly the in-use slot's end. */
  now: number;
}

interface ActivationResult extends Omit<BoundSeat, 'now'> {
  token: string;
}

/** What the activating client keeps: the seat, and the secret that proves it holds it (docs/security.md). */
interface ClientActivation extends ActivationResult {
  secret: string;
}

interface SeatOptions {
  /** The lease the seat is taken for when it is not the product's (air-gapped license files, marketplace device licenses). */
  leaseSeconds?: number;
  /** Refuses the seat for the code's product, before anything is written (air-gapped license files' own rules). */
  admit?: (product: Product) => void;
  /** Runs inside the seat's transaction, after the seat and its audit events are written. */
  alongside?: (tx: Stores, seat: BoundSeat) => Promise<void>;
  /** The hash of the seat's new secret: written with a new activation's row, or onto the machine's own seat it gets back. */
  secretHash?: string;
}

/**
 * Takes a seat for the machine (bindSeat), gives it a new secret that its heartbeats will prove
 * possession with, and signs its lease for exactly the fingerprint it sent. `coverNonce` is the
 * client's request nonce when the lease is to cover the answer (docs/server.md "Signed answers"):
 * the token then carries it and the secret's hash, and is the answer's one signature.
 */
export async function activateMachine(
  ctx: DomainContext,
  request: ActivationRequest,
  actor: Actor,
  coverNonce: string | null = null,
): Promise<ClientActivation> {
  const secret = ctx.ids.secret();
  const secretHash = hashSecret(secret);
  const seat = await bindSeat(ctx, request, actor, { secretHash });
  const { token } = await issueLease(ctx, {
    ...seat,
    activation: { id: seat.activation.id, fingerprint: request.fingerprint },
    status: seat.code.status,
    nonce: coverNonce,
    secretHash: coverNonce === null ? null : secretHash,
  });
  return { activation: seat.activation, code: seat.code, product: seat.product, created: seat.created, token, secret };
}

/** Refuses, before any database work, a request no seat could serve; the code it names, normalised. */
function codeToLock(request: ActivationRequest): string {
  const code = normalizeAuthorizationCode(request.code);
  if (anchorEntries(request.fingerprint).length === 0) {
    // Without an anchor no later heartbeat could ever match: refuse now, not at the first beat
    // (docs/fingerprint-design.md#matching).
    throw new InvalidInput(
      'fingerprint_insufficient',
      'the fingerprint has no anchor component (os.machineId, hw.systemUuid, hw.boardSerial or disk.bootSerial)',
    );
  }
  return code;
}

/** A container takes a seat only on a product that licenses container instances. */
function assertMachineKindAllowed(product: Product, request: ActivationRequest): void {
  if (INSTANCE_COMPONENT in request.fingerprint && product.containers !== 'instance') {
    throw new Forbidden(
      'container_not_allowed',
      `this machine is a container, whose machine id belongs to its image: product "${product.name}" licenses machines, not containers. The vendor can license containers with a floating product whose containers policy is "instance" (docs/policies.md)`,
      { product: product.name },
    );
  }
}

/**
 * Binds a machine to a seat (docs/server.md#client-api). The code row is locked first, so N racing
 * activations on a code with S free seats yield exactly S new seats on either engine; the same
 * lock makes in-use slots (M of N) and churn limits exact (docs/policies.md). The code is found
 * by the statement that locks it and its product comes from memory when the change feed vouches
 * for it (docs/performance.md#an-activation-asks-the-database-few-questions). Signs nothing.
 */
export async function bindSeat(ctx: DomainContext, request: ActivationRequest, actor: Actor, options: SeatOptions = {}): Promise<BoundSeat> {
  const normalized = codeToLock(request);
  // Known once the code is locked: a limit reached on it is noted against it.
  let codeId: string | undefined;
  return notingLimits(
    ctx,
    () => codeId,
    actor,
    () =>
      ctx.repo.transaction(async (tx) => {
        const locked = await tx.codes.lockForSeat(normalized, anchorEntries(request.fingerprint));
        if (!locked) throw new NotFound('code_not_found', 'no such authorization code');
        const { code, activeSeats, holders } = locked;
        codeId = code.id;
        const product = await tx.products.findById(code.productId);
        if (!product) throw new NotFound('product_not_found', 'the code belongs to no product');
        assertMachineKindAllowed(product, request);
        options.admit?.(product);
        const now = ctx.clock.now();
        assertActivatable(code, now);
        // On an M-of-N code the activation also takes an in-use slot, which ends with the token's lease.
        const slotEnd = limitsConcurrency(code) ? leaseEndMs(now, options.leaseSeconds ?? product.leaseSeconds, code) : null;
        const taken = await takeSeat(ctx, tx, { code, activeSeats, holders, product, now, slotEnd, secretHash: options.secretHash ?? null }, request, actor);
        const seat: BoundSeat = { ...taken, product, now };
        if (options.alongside) await options.alongside(tx, seat);
        return seat;
      }),
  );
}

/** The seat rules under the code's lock: the machine's own seat back, a lapsed floating seat reclaimed, or a new one. */
async function takeSeat(
  ctx: DomainContext,
  tx: Stores,
  locked: SeatLock & { product: Product; now: number; slotEnd: number | null; secretHash: string | null },
  request: ActivationRequest,
  actor: Actor,
): Promise<{ activation: Activation; code: LicenseCode; created: boolean }> {
  const { code, activeSeats, holders: sharing, product, now, slotEnd, secretHash } = locked;
  const events: AuditEvent[] = [];

  // The same machine again gets its own seat back, re-enrolled if its hardware drifted. A match
  // needs an agreeing anchor, so only live activations sharing an anchor hash are candidates:
  // a 10,000-seat code costs the same as a 1-seat one. The same read, over the whole product,
  // finds the clones below: the code's lock reads the anchors' holders once per activation
  // (docs/performance.md#an-activation-asks-the-database-few-questions).
  const existing = bestMatch(oldestFirst(sharing.filter((a) => a.codeId === code.id)), request.fingerprint, product);
  if (existing) {
    if (existing.clonedAt !== null) throw new ActivationCloned(existing.clonedAt);
    const verdict = judgeEnrolment(existing, request.fingerprint, product, now);
    // A change back inside the window is refused here like any second change: an activation is not a beat.
    const applicable =
      verdict.kind === 'alternating'
        ? { kind: 'refused' as const, reason: 'changed_recently' as const, components: verdict.components, foreign: false }
        : verdict;
    const activation = await applyEnrolment(ctx, existing, applicable, now, actor, tx);
    if (slotEnd !== null) {
      await assertSlotFree(tx, code, activation.id, now);
      await tx.activations.holdSlot(activation.id, now, slotEnd);
      activation.inUseUntil = slotEnd;
    } else {
      await tx.activations.touch(activation.id, now);
    }
    activation.lastHeartbeatAt = now;
    if (secretHash !== null) await tx.activations.setSecret(activation.id, secretHash);
    // Its own seat again: no seat is taken or freed, so this does not count against the churn limit.
    return { activation, code, created: false };
  }

  let inUse = activeSeats;
  const culled = new Set<string>();
  // A floating seat whose heartbeats stopped is free now, not only after the next sweep. Eager
  // reclaim frees every lapsed seat (the sweeper would anyway); soft reclaim only the one needed.
  if (inUse >= code.seats && product.seatMode === 'floating') {
    const ids = await tx.activations.cullLapsedOnCode(code.id, now, product.reclaim === 'soft' ? inUse - code.seats + 1 : undefined);
    for (const id of ids) {
      culled.add(id);
      events.push(auditEvent(ctx, now, actor, 'activation.culled', { type: 'activation', id }, code.id, null, null));
    }
    inUse -= ids.length;
  }
  if (inUse >= code.seats) throw new SeatLimitReached(code.seats);
  if (slotEnd !== null) await assertSlotFree(tx, code, null, now);

  const activation: Activation = {
    id: ctx.ids.id(),
    codeId: code.id,
    productId: product.id,
    fingerprint: request.fingerprint,
    environment: request.environment ?? {},
    status: 'active',
    cloneSuspect: false,
    createdAt: now,
    lastHeartbeatAt: now,
    endedAt: null,
    inUseUntil: slotEnd,
    secretHash,
    fingerprintChangedAt: null,
    replacedComponents: null,
    foreignBeatAt: null,
    clonedAt: null,
  };
  await spendChurn(ctx, tx, product, { codeId: code.id, activationId: activation.id, kind: 'activation', at: now });
  const clones = findClones(
    sharing.filter((a) => !culled.has(a.id)),
    activation,
    product,
  );
  if (clones.length > 0) {
    activation.cloneSuspect = true;
    await tx.activations.markCloneSuspect(clones.map((c) => c.id));
    events.push(
      auditEvent(ctx, now, actor, 'activation.clone_suspected', { type: 'activation', id: activation.id }, code.id, null, {
        sharedWith: clones.map((c) => c.id),
      }),
    );
  }
  await tx.activations.insert(activation);
  events.push(
    auditEvent(ctx, now, actor, 'activation.created', { type: 'activation', id: activation.id }, code.id, null, {
      environment: activation.environment,
    }),
  );
  let current = code;
  if (code.status === 'issued') {
    current = { ...code, status: 'alive', firstActivatedAt: now, updatedAt: now };
    await tx.codes.update(code.id, { status: 'alive', firstActivatedAt: now }, now);
    events.push(auditEvent(ctx, now, actor, 'code.activated', { type: 'code', id: code.id }, code.id, codeSnapshot(code), codeSnapshot(current)));
  }
  await tx.audit.insert(events);
  return { activation, code: current, created: true };
}

/** The live activation that is this very machine (isSameMachine), the closest if several are. */
function bestMatch(live: Activation[], fingerprint: FingerprintHashes, product: Product): Activation | undefined {
  let best: { activation: Activation; score: number } | undefined;
  for (const activation of live) {
    if (!isSameMachine(activation.fingerprint, fingerprint, product.matchStrategy)) continue;
    const { score } = matchFingerprint(activation.fingerprint, fingerprint, product.matchStrategy);
    if (!best || score > best.score) best = { activation, score };
  }
  return best?.activation;
}

/** In activation order, so that of equally close matches the oldest seat is the machine's. */
function oldestFirst(activations: Activation[]): Activation[] {
  return activations.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * One anchor seen on several live activations that do not otherwise match means a cloned image
 * or VM (docs/fingerprint-design.md#matching). We flag it; the seat is still granted. `sharing`:
 * the product's live activations sharing an anchor hash with the candidate.
 */
function findClones(sharing: Activation[], candidate: Activation, product: Product): Activation[] {
  return sharing.filter(
    (other) =>
      sharedAnchors(other.fingerprint, candidate.fingerprint).length > 0 && !isSameMachine(other.fingerprint, candidate.fingerprint, product.matchStrategy),
  );
}

/** Frees a seat. The client proves it holds the activation with a token the server signed for it. */
export async function deactivateMachine(ctx: DomainContext, activationId: string, proofToken: string | null, actor: Actor): Promise<Activation> {
  if (proofToken !== null) {
    const claims = await ctx.tokens.verifyHolder(proofToken);
    if (!claims || claims.activation.id !== activationId) {
      throw new Forbidden('activation_proof_invalid', 'the token does not prove that this client holds the activation');
    }
  }
  const activation = await ctx.repo.activations.findById(activationId);
  if (!activation) throw new NotFound('activation_not_found', 'no such activation');
  if (activation.status !== 'active') return activation;
  // The client's own deactivation counts against the churn limit (a refusal rolls the end back);
  // an operator freeing a seat does not (docs/policies.md): only then is the product read.
  const product = proofToken !== null ? await ctx.repo.products.findById(activation.productId) : undefined;
  return notingLimits(ctx, activation.codeId, actor, () =>
    ctx.repo.transaction(async (tx) => {
      const now = ctx.clock.now();
      await tx.codes.lock(activation.codeId);
      if (!(await tx.activations.end(activation.id, 'deactivated', now))) {
        return { ...activation, status: (await tx.activations.findById(activation.id))?.status ?? 'deactivated' };
      }
      if (product) await spendChurn(ctx, tx, product, { codeId: activation.codeId, activationId: activation.id, kind: 'deactivation', at: now });
      await tx.audit.insert([auditEvent(ctx, now, actor, 'activation.deactivated', { type: 'activation', id: activation.id }, activation.codeId, null, null)]);
      return { ...activation, status: 'deactivated', endedAt: now };
    }),
  );
}
