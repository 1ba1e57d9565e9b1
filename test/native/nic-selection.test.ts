import { strict as assert } from 'node:assert';
import { collectSync } from '@licensor/client';
import { materializeMachine, type Machine } from './helpers/machines';

describe('choosing MAC addresses (net.macs)', () => {
  let workstation: Machine;
  let server: Machine;
  let macs: { status: string; value?: string[]; detail?: string };
  before(() => {
    workstation = materializeMachine('nvme-bare-metal');
    server = materializeMachine('md-raid-udev');
    macs = collectSync({ root: workstation.root, include: ['net.macs'] }).components['net.macs']!;
  });
  after(() => {
    workstation.remove();
    server.remove();
  });

  it('keeps the burned-in addresses of the onboard and the add-in NIC, sorted, as a set', () => {
    assert.deepEqual(macs, { status: 'ok', value: ['3c:ec:ef:aa:bb:cc', 'a4:bb:6d:12:34:56'], detail: 'eno1, enp6s0' });
  });
  it('leaves out a NIC whose address was set by software (addr_assign_type 3)', () => {
    assert.ok(!macs.value?.includes('00:11:22:33:44:55'));
  });
  it('leaves out the Wi-Fi card', () => {
    assert.ok(!macs.value?.includes('8c:f8:c5:01:02:03'));
  });
  it('leaves out a USB Ethernet dongle', () => {
    assert.ok(!macs.value?.includes('00:e0:4c:68:00:01'));
  });
  it('leaves out virtual devices (docker bridge, loopback) and explains every exclusion', () => {
    const all = collectSync({ root: workstation.root, include: ['net.macs'] });
    assert.equal(all.components['net.macs']?.status, 'ok');
    // The reasons show when nothing survives: mark the two good NICs' addresses as random.
    workstation.write('sys/devices/pci0000:00/0000:00:1f.6/net/eno1/addr_assign_type', '1\n');
    workstation.write('sys/devices/pci0000:00/0000:00:1c.4/0000:06:00.0/net/enp6s0/addr_assign_type', '1\n');
    const none = collectSync({ root: workstation.root, include: ['net.macs'] }).components['net.macs'];
    assert.equal(none?.status, 'absent');
    assert.equal(
      none?.detail,
      'no physical NIC with a universal address (docker0: virtual (no bus device); ' +
        'eno1: address is random or set by software; enp6s0: address is random or set by software; ' +
        'enp7s0: address is random or set by software; enx00e04c680001: USB adapter; lo: not Ethernet; ' +
        'wlp0s20f3: wireless)',
    );
  });
  it("leaves out an all-zero address and a bond that copies a real NIC's address", () => {
    const result = collectSync({ root: server.root, include: ['net.macs'] }).components['net.macs'];
    assert.deepEqual(result?.value, ['ac:1f:6b:12:34:56']);
    server.write('sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0/net/eno1/address', '03:1f:6b:12:34:56\n');
    const multicast = collectSync({ root: server.root, include: ['net.macs'] }).components['net.macs'];
    assert.match(multicast?.detail ?? '', /bond0: virtual \(no bus device\); eno1: multicast address; eno2: all-zero address/);
  });
});
