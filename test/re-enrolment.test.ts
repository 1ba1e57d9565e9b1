import { strict as assert } from 'node:assert';
import type { FingerprintHashes } from '@licensor/client/contract';
import { foreignBeatSinceLast, isSameMachine, judgeEnrolment } from '../src/domain/re-enrolment';
import type { MatchStrategy } from '../src/domain/types';
import { labelled as machine } from './support/fingerprints';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 11, 1);

const enrolled = (fingerprint: FingerprintHashes, changedAt: number | null = null, replaced: FingerprintHashes | null = null) => ({
  fingerprint,
  fingerprintChangedAt: changedAt,
  replacedComponents: replaced,
});
const product = (matchStrategy: MatchStrategy = 'fuzzy') => ({ matchStrategy, fingerprintChangeWindowSeconds: 30 * 86_400 });

describe('re-enrolling a machine whose hardware drifts', () => {
  it('changes nothing for the same fingerprint, or one with components unreadable now', () => {
    assert.deepEqual(judgeEnrolment(enrolled(machine('A')), machine('A'), product(), T0), { kind: 'unchanged' });
    assert.deepEqual(judgeEnrolment(enrolled(machine('A')), machine('A', { 'hw.boardSerial': undefined }), product(), T0), { kind: 'unchanged' });
  });

  it('re-enrols one changed non-anchor component, and remembers what it replaced', () => {
    const verdict = judgeEnrolment(enrolled(machine('A')), machine('A', { 'net.macs': ['new:nic'] }), product(), T0);
    assert.equal(verdict.kind, 'reenrol');
    assert.ok(verdict.kind === 'reenrol');
    assert.equal(verdict.component, 'net.macs');
    assert.deepEqual(verdict.enrolment['net.macs'], ['new:nic']);
    assert.deepEqual(verdict.replaced, { 'net.macs': ['A:nic1', 'A:nic2'] });
  });

  it('never re-enrols an anchor, replaced or appearing: the machine activates again', () => {
    for (const strategy of ['fuzzy', 'loose'] as const) {
      const swapped = judgeEnrolment(enrolled(machine('A')), machine('A', { 'disk.bootSerial': 'B:disk' }), product(strategy), T0);
      assert.deepEqual(swapped, { kind: 'refused', reason: 'anchor_changed', components: ['disk.bootSerial'], foreign: true });
    }
    const appeared = judgeEnrolment(enrolled(machine('A', { 'hw.boardSerial': undefined })), machine('A'), product(), T0);
    assert.deepEqual(appeared, { kind: 'refused', reason: 'anchor_changed', components: ['hw.boardSerial'], foreign: false });
  });

  it('refuses two components changed at once', () => {
    const verdict = judgeEnrolment(enrolled(machine('A')), machine('A', { 'net.macs': ['x'], 'hw.model': 'x' }), product(), T0);
    assert.deepEqual(verdict, { kind: 'refused', reason: 'too_many_changes', components: ['net.macs', 'hw.model'], foreign: false });
  });

  it('allows one change per window, and says when the next is possible', () => {
    const recently = enrolled(machine('A', { 'net.macs': ['new:nic'] }), T0, { 'net.macs': ['A:nic1'] });
    const verdict = judgeEnrolment(recently, machine('A', { 'net.macs': ['new:nic'], 'hw.model': 'x' }), product(), T0 + 29 * DAY);
    assert.deepEqual(verdict, { kind: 'refused', reason: 'changed_recently', components: ['hw.model'], foreign: false, retryAt: T0 + 30 * DAY });
    assert.equal(judgeEnrolment(recently, machine('A', { 'net.macs': ['new:nic'], 'hw.model': 'x' }), product(), T0 + 30 * DAY).kind, 'reenrol');
  });

  it('reads a change back to what the last re-enrolment replaced, inside the window, as two machines taking turns', () => {
    const afterSwap = enrolled(machine('A', { 'net.macs': ['B:nic1'] }), T0, { 'net.macs': ['A:nic1', 'A:nic2'] });
    assert.deepEqual(judgeEnrolment(afterSwap, machine('A'), product(), T0 + DAY), { kind: 'alternating', components: ['net.macs'] });
  });

  it('cannot walk onto another machine one part at a time, however long it waits', () => {
    const a = machine('A');
    const b = machine('B');
    let state = enrolled(a);
    let now = T0;
    let current = a;
    const refusals: string[] = [];
    for (const id of Object.keys(b)) {
      now += 31 * DAY;
      current = { ...current, [id]: b[id]! };
      const verdict = judgeEnrolment(state, current, product('loose'), now);
      if (verdict.kind === 'reenrol') state = enrolled(verdict.enrolment, now, verdict.replaced);
      if (verdict.kind === 'refused') {
        refusals.push(id);
        current = { ...current, [id]: state.fingerprint[id]! };
      }
    }
    assert.deepEqual(refusals, ['os.machineId', 'hw.systemUuid', 'hw.boardSerial', 'disk.bootSerial']);
    assert.equal(isSameMachine(state.fingerprint, b, 'loose'), false);
  });

  it('mixes of two machines match at most one of them', () => {
    // A fingerprint that reached the threshold for both under the old rules: A's anchors but two, B's rest.
    const mix = machine('A', { 'disk.bootSerial': 'B:disk', 'net.macs': ['B:nic1'], 'hw.model': 'B:model' });
    assert.equal(judgeEnrolment(enrolled(machine('A')), mix, product('loose'), T0).kind, 'refused');
    assert.equal(isSameMachine(machine('B'), mix, 'loose'), false);
  });

  it('reports a mismatch, and whether an anchor named another machine', () => {
    assert.deepEqual(judgeEnrolment(enrolled(machine('A')), machine('B'), product(), T0), { kind: 'mismatch', reason: 'no_anchor', foreign: true });
    const unreadable = judgeEnrolment(enrolled(machine('A')), { 'cpu.signature': 'A:cpu' }, product(), T0);
    assert.deepEqual(unreadable, { kind: 'mismatch', reason: 'too_few_components', foreign: false });
  });
});

describe('telling one machine from another', () => {
  it('is the same machine when it matches and no anchor disagrees', () => {
    assert.equal(isSameMachine(machine('A'), machine('A', { 'net.macs': ['x'] }), 'fuzzy'), true);
    assert.equal(isSameMachine(machine('A'), machine('A', { 'disk.bootSerial': 'B:disk' }), 'loose'), false);
  });

  it('sees two machines when a beat of the enrolled one follows a beat that named another', () => {
    assert.equal(foreignBeatSinceLast({ foreignBeatAt: null, lastHeartbeatAt: T0 }), false);
    assert.equal(foreignBeatSinceLast({ foreignBeatAt: T0 + 1, lastHeartbeatAt: T0 }), true);
    assert.equal(foreignBeatSinceLast({ foreignBeatAt: T0, lastHeartbeatAt: T0 }), true);
    assert.equal(foreignBeatSinceLast({ foreignBeatAt: T0, lastHeartbeatAt: T0 + 1 }), false);
  });
});
