import { componentAgrees, fingerprintChanges, matchFingerprint } from '@licensor/client/contract';
import { auditEvent } from './audit';
import type { DomainContext } from './context';
import { FingerprintChanged, FingerprintMismatch } from './errors';
import type { Stores } from './ports';
import type { Activation, Actor, FingerprintHashes, Product } from './types';

/**
 * What a fingerprint sent by the holder of an activation may change in its enrolment
 * (docs/fingerprint.md "Drift, re-enrolment and clones"). One seat is one machine, so:
 *
 * - an anchor is never replaced nor added after enrolment: a disagreeing anchor names another
 *   machine (or a part that named this one was replaced: the machine activates again);
 * - at most one other component changes per product window, and a change back to what the last
 *   re-enrolment replaced, inside that window, is two machines taking turns;
 * - a beat from the enrolled machine after a beat that named another machine is the same.
 *
 * `judgeEnrolment` is pure; `applyEnrolment` writes its verdict, for the heartbeat and for the
 * activation of a machine that already holds a seat.
 */
export type EnrolmentVerdict =
  | { kind: 'unchanged' }
  | { kind: 'reenrol'; component: string; enrolment: FingerprintHashes; replaced: FingerprintHashes }
  | { kind: 'mismatch'; reason: string; foreign: boolean }
  | { kind: 'refused'; reason: EnrolmentRefusal; components: string[]; foreign: boolean; retryAt?: number }
  | { kind: 'alternating'; components: string[] };

type EnrolmentRefusal = 'anchor_changed' | 'too_many_changes' | 'changed_recently';

export function judgeEnrolment(
  activation: Pick<Activation, 'fingerprint' | 'fingerprintChangedAt' | 'replacedComponents'>,
  sent: FingerprintHashes,
  product: Pick<Product, 'matchStrategy' | 'fingerprintChangeWindowSeconds'>,
  now: number,
): EnrolmentVerdict {
  const enrolment = activation.fingerprint;
  const changes = fingerprintChanges(enrolment, sent);
  const foreign = changes.anchorConflicts.length > 0;
  const match = matchFingerprint(enrolment, sent, product.matchStrategy);
  if (!match.accepted) return { kind: 'mismatch', reason: match.reason, foreign };
  const anchors = [...changes.anchorConflicts, ...changes.anchorsAdded];
  if (anchors.length > 0) return { kind: 'refused', reason: 'anchor_changed', components: anchors, foreign };
  if (changes.others.length === 0) return { kind: 'unchanged' };
  if (changes.others.length > 1) return { kind: 'refused', reason: 'too_many_changes', components: changes.others, foreign: false };

  const component = changes.others[0]!;
  const windowEnds = activation.fingerprintChangedAt === null ? null : activation.fingerprintChangedAt + product.fingerprintChangeWindowSeconds * 1000;
  if (windowEnds !== null && now < windowEnds) {
    const replaced = activation.replacedComponents?.[component];
    if (replaced !== undefined && componentAgrees(component, replaced, sent[component])) return { kind: 'alternating', components: [component] };
    return { kind: 'refused', reason: 'changed_recently', components: [component], foreign: false, retryAt: windowEnds };
  }
  const previous = enrolment[component];
  return {
    kind: 'reenrol',
    component,
    enrolment: { ...enrolment, [component]: sent[component]! },
    replaced: previous === undefined ? {} : { [component]: previous },
  };
}

/**
 * Whether `fingerprint` is the machine enrolled as `enrolment`: it matches, and no anchor
 * disagrees (an anchor is never re-enrolled, so a disagreeing one names another machine).
 */
export function isSameMachine(enrolment: FingerprintHashes, fingerprint: FingerprintHashes, strategy: Product['matchStrategy']): boolean {
  return matchFingerprint(enrolment, fingerprint, strategy).accepted && fingerprintChanges(enrolment, fingerprint).anchorConflicts.length === 0;
}

/**
 * A beat of the enrolled machine after a beat that named another machine, with no beat of its
 * own in between: two machines are beating on one activation. (Times are in milliseconds: a
 * foreign beat in the same millisecond as the last own one counts as after it.)
 */
export function foreignBeatSinceLast(activation: Pick<Activation, 'foreignBeatAt' | 'lastHeartbeatAt'>): boolean {
  return activation.foreignBeatAt !== null && activation.foreignBeatAt >= activation.lastHeartbeatAt;
}

/**
 * Applies the re-enrolment rules' verdict to an activation whose holder sent a fingerprint: the
 * activation as it now is, or a refusal. Shared by the heartbeat and by the activation of a
 * machine that already holds a seat, which passes its transaction (`tx`); the heartbeat writes in
 * one of its own, rarely.
 */
export async function applyEnrolment(
  ctx: DomainContext,
  activation: Activation,
  verdict: Exclude<EnrolmentVerdict, { kind: 'alternating' }>,
  now: number,
  actor: Actor,
  tx?: Stores,
): Promise<Activation> {
  const write = (work: (stores: Stores) => Promise<void>) => (tx ? work(tx) : ctx.repo.transaction(work));
  if (verdict.kind === 'mismatch' || verdict.kind === 'refused') {
    // A beat that named another machine is remembered, so that a later beat of the enrolled
    // machine shows two machines taking turns. (An activation's refusal rolls its transaction back.)
    if (verdict.foreign && !tx) await ctx.repo.transaction((stores) => stores.activations.noteForeignBeat(activation.id, now));
    if (verdict.kind === 'mismatch') throw new FingerprintMismatch(verdict.reason);
    throw new FingerprintChanged(verdict.reason, verdict.components, verdict.retryAt);
  }
  if (verdict.kind === 'unchanged') return activation;
  await write(async (stores) => {
    await stores.activations.reEnrol(activation.id, verdict.enrolment, verdict.replaced, now);
    await stores.audit.insert([
      auditEvent(ctx, now, actor, 'activation.reenrolled', { type: 'activation', id: activation.id }, activation.codeId, null, {
        changed: [verdict.component],
      }),
    ]);
  });
  return { ...activation, fingerprint: verdict.enrolment, replacedComponents: verdict.replaced, fingerprintChangedAt: now };
}
