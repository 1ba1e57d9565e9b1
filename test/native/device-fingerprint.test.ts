import { strict as assert } from 'node:assert';
import { collectSync, deviceFingerprint } from '@licensor/client';
import type { CollectedFingerprint } from '@licensor/client/contract';
import { materializeMachine } from './helpers/machines';

function fingerprintWith(parts: Partial<CollectedFingerprint>): CollectedFingerprint {
  return {
    platform: 'linux',
    components: {},
    env: { virtualized: false, container: false, evidence: [] },
    hardware: { bootDisks: [] },
    ...parts,
  };
}

describe('the marketplace deviceFingerprint string (MAC|DISK|BOARD|CPU)', () => {
  it('reproduces the layout of the marketplace example', () => {
    const result = fingerprintWith({
      components: {
        'net.macs': { status: 'ok', value: ['04:7c:16:5e:e3:5d'] },
        'hw.boardSerial': { status: 'absent' },
      },
      hardware: {
        cpu: { vendor: 'GenuineIntel', family: 6, model: 151, stepping: 2, brand: 'x', processorId: 'BFEBFBFF00090672' },
        bootDisks: [{ name: 'PhysicalDrive0', bus: 'nvme', serial: '001b_444a_488b_5cec.' }],
      },
    });
    assert.equal(deviceFingerprint(result), '04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.||BFEBFBFF00090672');
  });

  it('joins several MACs and several disks with commas and upper-cases everything', () => {
    const result = fingerprintWith({
      components: {
        'net.macs': { status: 'ok', value: ['3c:ec:ef:aa:bb:cc', 'a4:bb:6d:12:34:56'] },
        'hw.boardSerial': { status: 'ok', value: 'zm19as012345' },
      },
      hardware: {
        bootDisks: [
          { name: 'sda', bus: 'scsi', serial: 'zc20a1b2' },
          { name: 'sdb', bus: 'scsi', serial: 'zc20a1b3' },
        ],
      },
    });
    assert.equal(deviceFingerprint(result), '3C:EC:EF:AA:BB:CC,A4:BB:6D:12:34:56|ZC20A1B2,ZC20A1B3|ZM19AS012345|');
  });

  it('keeps all four fields, empty, when nothing is obtainable', () => {
    assert.equal(deviceFingerprint(fingerprintWith({})), '|||');
  });

  it('leaves a disk without a serial out of the DISK field', () => {
    const result = fingerprintWith({ hardware: { bootDisks: [{ name: 'vda', bus: 'virtio' }] } });
    assert.equal(deviceFingerprint(result), '|||');
  });

  it('renders a fixture workstation from the addon result', () => {
    const machine = materializeMachine('nvme-bare-metal');
    try {
      // Over a fixture the CPU comes from /proc/cpuinfo, which has no processor id.
      assert.equal(deviceFingerprint(collectSync({ root: machine.root })), '3C:EC:EF:AA:BB:CC,A4:BB:6D:12:34:56|S5P2NG0R123456A|/7ABC123/CNFCW0023400E3/|');
    } finally {
      machine.remove();
    }
  });

  it('renders this machine as four upper-case fields with the CPUID processor id last', () => {
    const fingerprint = deviceFingerprint(collectSync());
    assert.equal(fingerprint.split('|').length, 4);
    assert.equal(fingerprint, fingerprint.toUpperCase());
    assert.equal(fingerprint.split('|')[3], collectSync().hardware.cpu?.processorId ?? '');
  });
});
