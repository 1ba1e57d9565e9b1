import { strict as assert } from 'node:assert';
import { collectSync } from '@licensor/client';
import { materializeMachine, type Machine } from './helpers/machines';

// Placeholders firmware vendors ship instead of identities (docs/fingerprint-design.md#junk-values).
const JUNK_UUIDS = ['00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', '03000200-0400-0500-0006-000700080009', 'Not Settable'];
const JUNK_SERIALS = ['To Be Filled By O.E.M.', 'Default string', 'System Serial Number', 'Not Specified', 'None', '0', '0123456789', '', '   ', '00000000'];

describe('rejecting placeholder firmware values', () => {
  let machine: Machine;
  before(() => {
    machine = materializeMachine('nvme-bare-metal');
  });
  after(() => machine.remove());

  for (const uuid of JUNK_UUIDS) {
    it(`treats the system UUID ${JSON.stringify(uuid)} as junk`, () => {
      machine.write('sys/class/dmi/id/product_uuid', `${uuid}\n`);
      const component = collectSync({ root: machine.root, include: ['hw.systemUuid'] }).components['hw.systemUuid'];
      assert.equal(component?.status, 'junk');
      assert.equal(component?.value, undefined);
    });
  }

  for (const serial of JUNK_SERIALS) {
    it(`treats the board and system serial ${JSON.stringify(serial)} as junk`, () => {
      machine.write('sys/class/dmi/id/board_serial', `${serial}\n`);
      machine.write('sys/class/dmi/id/product_serial', `${serial}\n`);
      assert.equal(collectSync({ root: machine.root, include: ['hw.boardSerial'] }).components['hw.boardSerial']?.status, 'junk');
    });
  }

  it('keeps a serial that merely contains a placeholder word', () => {
    machine.write('sys/class/dmi/id/board_serial', 'NONE-4711\n');
    assert.equal(collectSync({ root: machine.root, include: ['hw.boardSerial'] }).components['hw.boardSerial']?.value, 'NONE-4711');
  });

  it('treats the constant virtio serial of Firecracker sandboxes ("overlayblk") as junk', () => {
    const vm = materializeMachine('vm-virtio');
    try {
      vm.write('sys/devices/pci0000:00/0000:00:04.0/virtio1/block/vda/serial', 'overlayblk\n');
      const disk = collectSync({ root: vm.root, include: ['disk.bootSerial'] }).components['disk.bootSerial'];
      assert.equal(disk?.status, 'junk');
    } finally {
      vm.remove();
    }
  });

  it('treats an all-zero or uninitialized /etc/machine-id as unusable', () => {
    machine.write('etc/machine-id', '00000000000000000000000000000000\n');
    assert.equal(collectSync({ root: machine.root, include: ['os.machineId'] }).components['os.machineId']?.status, 'junk');
    machine.write('etc/machine-id', 'uninitialized\n');
    assert.equal(collectSync({ root: machine.root, include: ['os.machineId'] }).components['os.machineId']?.status, 'absent');
  });
});
