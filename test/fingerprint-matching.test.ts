import { strict as assert } from 'node:assert';
import {
  anchorEntries,
  fingerprintChanges,
  type FingerprintHashes,
  HARDWARE_COMPONENT_IDS,
  matchFingerprint,
  sameFingerprint,
  sharedAnchors,
} from '@licensor/client/contract';
import { labelled as machine, type Overrides } from './support/fingerprints';

/** A Linux machine read without root: no SMBIOS UUID or board serial (weight 10 in all). */
function nonRootLinux(label: string, overrides: Overrides = {}): FingerprintHashes {
  return machine(label, { 'hw.systemUuid': undefined, 'hw.boardSerial': undefined, ...overrides });
}

describe('matching a fingerprint', () => {
  it('accepts an identical fingerprint under every strategy with nothing changed', () => {
    for (const strategy of ['exact', 'fuzzy', 'loose'] as const) {
      const result = matchFingerprint(machine('A'), machine('A'), strategy);
      assert.equal(result.accepted, true, strategy);
      assert.equal(result.reason, 'match');
      assert.equal(result.score, 1);
      assert.equal(result.comparedWeight, 16);
      assert.deepEqual(result.matched, [...HARDWARE_COMPONENT_IDS]);
      assert.deepEqual(result.changed, []);
      assert.equal(result.anchorMatched, true);
    }
  });

  it('accepts a machine whose disk was swapped and reports the disk as changed', () => {
    const result = matchFingerprint(machine('A'), machine('A', { 'disk.bootSerial': 'B:disk' }), 'fuzzy');
    assert.equal(result.accepted, true);
    assert.equal(result.score, 13 / 16);
    assert.deepEqual(result.changed, ['disk.bootSerial']);
  });

  it('refuses a copy onto another machine that shares only the CPU and model', () => {
    const result = matchFingerprint(machine('A'), machine('B'), 'fuzzy');
    assert.equal(result.accepted, false);
    assert.equal(result.reason, 'no_anchor');
    assert.deepEqual(result.matched, ['cpu.signature', 'hw.model']);
    assert.equal(result.score, 2 / 16);
  });

  it('treats a component absent on one side as neither match nor mismatch', () => {
    const result = matchFingerprint(machine('A'), nonRootLinux('A'), 'exact');
    assert.equal(result.accepted, true);
    assert.equal(result.comparedWeight, 10);
    assert.equal(result.score, 1);
    assert.ok(!result.matched.includes('hw.systemUuid'));
    assert.ok(!result.changed.includes('hw.systemUuid'));
    assert.ok(!result.changed.includes('hw.boardSerial'));
  });

  it('treats an empty MAC set as absent', () => {
    const result = matchFingerprint(machine('A'), machine('A', { 'net.macs': [] }), 'exact');
    assert.equal(result.accepted, true);
    assert.equal(result.comparedWeight, 14);
  });

  it('ignores component ids outside the catalogue', () => {
    const stored = machine('A', { 'gpu.uuid': 'A:gpu' });
    const result = matchFingerprint(stored, machine('A', { 'gpu.uuid': 'B:gpu' }), 'exact');
    assert.equal(result.accepted, true);
    assert.equal(result.comparedWeight, 16);
    assert.ok(!result.changed.includes('gpu.uuid'));
  });

  describe('the MAC set', () => {
    it('matches when one NIC was replaced and a dock added', () => {
      const current = machine('A', { 'net.macs': ['A:nic1', 'B:nic9', 'dock:nic'] });
      const result = matchFingerprint(machine('A'), current, 'exact');
      assert.equal(result.accepted, true);
      assert.ok(result.matched.includes('net.macs'));
    });

    it('matches regardless of member order', () => {
      const current = machine('A', { 'net.macs': ['A:nic2', 'A:nic1'] });
      assert.deepEqual(matchFingerprint(machine('A'), current, 'exact').changed, []);
    });

    it('counts disjoint sets as a change', () => {
      const result = matchFingerprint(machine('A'), machine('A', { 'net.macs': ['B:nic1'] }), 'fuzzy');
      assert.deepEqual(result.changed, ['net.macs']);
      assert.equal(result.accepted, true);
    });

    it('compares a set with many members by overlap as well', () => {
      const many = (prefix: string) => Array.from({ length: 40 }, (_, i) => `${prefix}:nic${i}`);
      const stored = machine('A', { 'net.macs': many('A') });
      const overlapping = machine('A', { 'net.macs': [...many('B'), 'A:nic39'] });
      assert.deepEqual(matchFingerprint(stored, overlapping, 'exact').changed, []);
      assert.deepEqual(matchFingerprint(stored, machine('A', { 'net.macs': many('B') }), 'fuzzy').changed, ['net.macs']);
    });
  });

  describe('thresholds', () => {
    // On a non-root Linux machine (weight 10) each case below changes a chosen set of components.
    const stored = nonRootLinux('A');
    const scoring60 = nonRootLinux('A', { 'disk.bootSerial': 'B:disk', 'hw.model': 'model:other' });
    const scoring50 = nonRootLinux('A', { 'disk.bootSerial': 'B:disk', 'hw.model': 'model:other', 'cpu.signature': 'cpu:other' });
    const scoring30 = nonRootLinux('B', { 'os.machineId': 'A:os', 'cpu.signature': 'cpu:other', 'hw.model': 'model:other' });

    it('accepts a fuzzy score of exactly 0.6', () => {
      const result = matchFingerprint(stored, scoring60, 'fuzzy');
      assert.equal(result.score, 0.6);
      assert.equal(result.accepted, true);
    });

    it('refuses a fuzzy score below 0.6 that loose accepts', () => {
      const fuzzy = matchFingerprint(stored, scoring50, 'fuzzy');
      assert.equal(fuzzy.score, 0.5);
      assert.equal(fuzzy.accepted, false);
      assert.equal(fuzzy.reason, 'below_threshold');
      assert.equal(matchFingerprint(stored, scoring50, 'loose').accepted, true);
    });

    it('refuses a loose score below 0.4', () => {
      const loose = matchFingerprint(stored, scoring30, 'loose');
      assert.equal(loose.score, 0.3);
      assert.equal(loose.anchorMatched, true);
      assert.equal(loose.reason, 'below_threshold');
    });

    it('refuses any changed component under exact', () => {
      const result = matchFingerprint(machine('A'), machine('A', { 'disk.bootSerial': 'B:disk' }), 'exact');
      assert.equal(result.accepted, false);
      assert.equal(result.reason, 'not_exact');
      assert.deepEqual(result.changed, ['disk.bootSerial']);
    });
  });

  describe('anchors', () => {
    it('refuses without an agreeing anchor even when the score clears the threshold', () => {
      // Compared: os.machineId (changed, 3) + MACs, CPU, model (matched, 4): 4/7 ≥ 0.4.
      const stored = machine('A', { 'hw.systemUuid': undefined, 'hw.boardSerial': undefined, 'disk.bootSerial': undefined });
      const current = machine('A', { 'os.machineId': 'B:os', 'hw.systemUuid': undefined, 'hw.boardSerial': undefined, 'disk.bootSerial': undefined });
      const result = matchFingerprint(stored, current, 'loose');
      assert.ok(result.score >= 0.4);
      assert.equal(result.anchorMatched, false);
      assert.equal(result.accepted, false);
      assert.equal(result.reason, 'no_anchor');
    });

    it('accepts when a single anchor carries the match', () => {
      const current = machine('A', { 'hw.systemUuid': 'B:uuid', 'hw.boardSerial': 'B:board', 'os.machineId': 'B:os' });
      const result = matchFingerprint(machine('A'), current, 'loose');
      assert.equal(result.anchorMatched, true);
      assert.equal(result.accepted, true);
    });
  });

  describe('compared weight', () => {
    const only = (ids: string[], fp: FingerprintHashes): FingerprintHashes => Object.fromEntries(Object.entries(fp).filter(([id]) => ids.includes(id)));

    it('refuses fewer than 5 compared weight against a full enrolment even when everything compared matches', () => {
      const current = only(['os.machineId', 'cpu.signature'], machine('A'));
      const result = matchFingerprint(machine('A'), current, 'fuzzy');
      assert.equal(result.score, 1);
      assert.equal(result.accepted, false);
      assert.equal(result.reason, 'too_few_components');
    });

    describe('a machine enrolled with less than 5 weight (a container: OS id and CPU only)', () => {
      const container = only(['os.machineId', 'cpu.signature'], machine('C'));

      it('is recognised when every enrolled component is there and agrees', () => {
        const result = matchFingerprint(container, container, 'fuzzy');
        assert.equal(result.accepted, true);
        assert.equal(result.comparedWeight, 4);
      });

      it('is refused when any enrolled component changed', () => {
        const result = matchFingerprint(container, { ...container, 'cpu.signature': 'cpu:other' }, 'loose');
        assert.equal(result.accepted, false);
        assert.equal(result.reason, 'not_exact');
      });

      it('is refused when an enrolled component is missing now', () => {
        const result = matchFingerprint(container, only(['os.machineId'], container), 'loose');
        assert.equal(result.reason, 'too_few_components');
      });

      it('still needs its anchor', () => {
        const cpuOnly = only(['cpu.signature', 'hw.model'], machine('C'));
        assert.equal(matchFingerprint(cpuOnly, cpuOnly, 'loose').reason, 'no_anchor');
      });
    });

    it('accepts exactly 5 compared weight with an anchor', () => {
      const fp = only(['os.machineId', 'cpu.signature', 'hw.model'], machine('A'));
      const result = matchFingerprint(fp, fp, 'exact');
      assert.equal(result.comparedWeight, 5);
      assert.equal(result.accepted, true);
    });

    it('refuses two fingerprints with no component in common', () => {
      const stored = only(['os.machineId', 'disk.bootSerial'], machine('A'));
      const current = only(['hw.systemUuid', 'hw.boardSerial'], machine('A'));
      const result = matchFingerprint(stored, current, 'loose');
      assert.equal(result.reason, 'no_common_components');
      assert.equal(result.score, 0);
      assert.equal(result.comparedWeight, 0);
    });
  });

  it('rejects an unknown strategy', () => {
    assert.throws(() => matchFingerprint(machine('A'), machine('A'), 'strict' as never), TypeError);
  });
});

describe('what a fingerprint changes against an enrolment', () => {
  it('names nothing for the same machine, nor for a component unreadable now', () => {
    assert.deepEqual(fingerprintChanges(machine('A'), machine('A')), { anchorConflicts: [], anchorsAdded: [], others: [] });
    assert.deepEqual(fingerprintChanges(machine('A'), nonRootLinux('A', { 'net.macs': undefined })), { anchorConflicts: [], anchorsAdded: [], others: [] });
  });

  it('tells an anchor that disagrees from one that was unreadable at enrolment', () => {
    const changes = fingerprintChanges(nonRootLinux('A'), machine('A', { 'disk.bootSerial': 'B:disk' }));
    assert.deepEqual(changes.anchorConflicts, ['disk.bootSerial']);
    assert.deepEqual(changes.anchorsAdded, ['hw.systemUuid', 'hw.boardSerial']);
  });

  it('counts a set as changed only when no member is shared, as matching does', () => {
    assert.deepEqual(fingerprintChanges(machine('A'), machine('A', { 'net.macs': ['A:nic2', 'dock:nic'] })).others, []);
    assert.deepEqual(fingerprintChanges(machine('A'), machine('A', { 'net.macs': ['dock:nic'] })).others, ['net.macs']);
    assert.deepEqual(fingerprintChanges(machine('A', { 'net.macs': undefined }), machine('A')).others, ['net.macs']);
  });
});

describe('comparing two fingerprints as records', () => {
  it('holds the same components with the same hashes, set members in the same order', () => {
    assert.equal(sameFingerprint(machine('A'), machine('A')), true);
    assert.equal(sameFingerprint(machine('A'), machine('A', { 'hw.model': undefined })), false);
    assert.equal(sameFingerprint(machine('A'), machine('A', { 'net.macs': ['A:nic2', 'A:nic1'] })), false);
    assert.equal(sameFingerprint(machine('A'), machine('A', { 'net.macs': ['A:nic1'] })), false);
    assert.equal(sameFingerprint(machine('A'), { ...machine('A'), 'gpu.uuid': 'A:gpu' }), false);
    assert.equal(sameFingerprint(machine('A', { 'cpu.signature': ['x'] }), machine('A', { 'cpu.signature': 'x' })), false);
  });
});

describe('detecting clones by shared anchors', () => {
  it('names the anchors two fingerprints share', () => {
    // A VM cloned without resetting /etc/machine-id: same OS id, new firmware UUID and disk.
    const clone = machine('B', { 'os.machineId': 'A:os' });
    assert.deepEqual(sharedAnchors(machine('A'), clone), ['os.machineId']);
  });

  it('does not count shared non-anchor components', () => {
    const b = machine('B', { 'net.macs': ['A:nic1'] });
    assert.deepEqual(sharedAnchors(machine('A'), b), []);
  });

  it('does not count an anchor absent on one side', () => {
    assert.deepEqual(sharedAnchors(machine('A', { 'os.machineId': undefined }), machine('A', { 'hw.systemUuid': undefined })), [
      'hw.boardSerial',
      'disk.bootSerial',
    ]);
  });

  it('lists the anchor hashes of a fingerprint for indexing', () => {
    assert.deepEqual(anchorEntries(nonRootLinux('A', { 'gpu.uuid': 'A:gpu' })), [
      { component: 'os.machineId', hash: 'A:os' },
      { component: 'disk.bootSerial', hash: 'A:disk' },
    ]);
  });
});
