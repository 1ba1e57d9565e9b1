import { strict as assert } from 'node:assert';
import { collect, collectSync } from '@licensor/client';
import type { CollectedFingerprint } from '@licensor/client/contract';
import { materializeMachine, type Machine, type MachineName } from './helpers/machines';
import { collectAsUnprivilegedUser } from './helpers/unprivileged';

function onMachine(name: MachineName, body: (read: () => CollectedFingerprint, machine: () => Machine) => void): void {
  let machine: Machine;
  let result: CollectedFingerprint;
  before(() => {
    machine = materializeMachine(name);
    result = collectSync({ root: machine.root });
  });
  after(() => machine.remove());
  body(
    () => result,
    () => machine,
  );
}

describe('fingerprint of fixture machines (options.root)', () => {
  describe('a bare-metal workstation with an NVMe SSD', () => {
    onMachine('nvme-bare-metal', (read, machine) => {
      it('reads the OS install id from /etc/machine-id', () => {
        assert.deepEqual(read().components['os.machineId'], {
          status: 'ok',
          value: '4c4c4544004d3910804ac4c04f4e3732',
          detail: '/etc/machine-id',
        });
      });
      it('reads the SMBIOS system UUID, lower-cased', () => {
        assert.equal(read().components['hw.systemUuid']?.value, '4c4c4544-004d-3910-804a-c4c04f4e3732');
      });
      it('reads the baseboard serial before the system serial', () => {
        assert.deepEqual(read().components['hw.boardSerial'], {
          status: 'ok',
          value: '/7ABC123/CNFCW0023400E3/',
          detail: 'board_serial',
        });
      });
      it('follows the root partition to its NVMe namespace and prefers the EUI-64 over the serial', () => {
        assert.equal(read().components['disk.bootSerial']?.value, 'eui.0025385b71b07f0e');
        assert.deepEqual(read().hardware.bootDisks, [
          {
            name: 'nvme0n1',
            bus: 'nvme',
            model: 'Samsung SSD 980 PRO 1TB',
            serial: 'S5P2NG0R123456A',
            wwid: 'eui.0025385b71b07f0e',
          },
        ]);
      });
      it('names the hardware model from the SMBIOS names', () => {
        assert.equal(read().components['hw.model']?.value, 'Dell Inc.|Precision 3660|0PRM3C');
      });
      it("takes the CPU signature from the machine's /proc/cpuinfo, not from the CPU running the test", () => {
        assert.deepEqual(read().components['cpu.signature'], {
          status: 'ok',
          value: 'GenuineIntel|6|151|2|12th Gen Intel(R) Core(TM) i7-12700',
          detail: '/proc/cpuinfo',
        });
      });
      it('reports neither a hypervisor nor a container', () => {
        assert.deepEqual(read().env, { virtualized: false, container: false, evidence: [] });
      });
      it('falls back to the system serial when the board serial is a placeholder', () => {
        machine().write('sys/class/dmi/id/board_serial', 'Default string\n');
        assert.deepEqual(collectSync({ root: machine().root, include: ['hw.boardSerial'] }).components, {
          'hw.boardSerial': { status: 'ok', value: '7ABC123', detail: 'product_serial' },
        });
      });
    });
  });

  describe('a desktop whose SATA SSD sits behind LVM, with an unbranded board', () => {
    onMachine('sata-lvm', (read) => {
      it('follows an LVM volume to the SATA disk below it, named only by the mount source', () => {
        assert.deepEqual(read().components['disk.bootSerial'], {
          status: 'ok',
          value: 'naa.5002538e40a1b2c3',
          detail: '/ on dm-1 -> sda',
        });
      });
      it('reads the unit serial from the binary VPD page 0x80', () => {
        assert.equal(read().hardware.bootDisks[0]?.serial, 'S3Z9NB0K123456X');
      });
      it('rejects the AMI default system UUID as junk', () => {
        assert.equal(read().components['hw.systemUuid']?.status, 'junk');
      });
      it('rejects "Default string" and "To Be Filled By O.E.M." serials as junk', () => {
        assert.equal(read().components['hw.boardSerial']?.status, 'junk');
        assert.equal(read().components['hw.boardSerial']?.value, undefined);
      });
      it('keeps the real board name and blanks the placeholder vendor and product', () => {
        assert.equal(read().components['hw.model']?.value, '||B450M Pro4');
      });
    });
  });

  describe('a server booting from md RAID1, with disk ids only in the udev database', () => {
    onMachine('md-raid-udev', (read) => {
      it('reads both RAID members and joins their WWNs in sorted order', () => {
        assert.deepEqual(read().components['disk.bootSerial'], {
          status: 'ok',
          value: 'naa.5000c500a1b2c3d4,naa.5000c500a1b2c3d5',
          detail: '/ on md0 -> sda,sdb',
        });
      });
      it("spells the udev WWN (0x…) the way the kernel's wwid does (naa.…)", () => {
        assert.deepEqual(
          read().hardware.bootDisks.map((disk) => [disk.serial, disk.wwid]),
          [
            ['ZC20A1B2', 'naa.5000c500a1b2c3d4'],
            ['ZC20A1B3', 'naa.5000c500a1b2c3d5'],
          ],
        );
      });
    });
  });

  describe('a KVM guest on OpenStack with a virtio disk and NIC', () => {
    onMachine('vm-virtio', (read) => {
      it('reads the virtio-blk serial the VMM passes (here the volume id)', () => {
        assert.equal(read().components['disk.bootSerial']?.value, '3F2A7C1E-9B4D-4E8A-A1C2');
        assert.equal(read().hardware.bootDisks[0]?.bus, 'virtio');
      });
      it('reports no MAC: the hypervisor-assigned 52:54:00 address is locally administered', () => {
        const macs = read().components['net.macs'];
        assert.equal(macs?.status, 'absent');
        assert.match(macs?.detail ?? '', /eth0: locally administered address/);
      });
      it('reports the VM, its hypervisor and its cloud', () => {
        const env = read().env;
        assert.equal(env.virtualized, true);
        assert.equal(env.hypervisorVendor, 'kvm');
        assert.equal(env.cloud, 'openstack');
        assert.equal(env.container, false);
        // Read from files, not the live CPU: the flag says "a VM", SMBIOS names whose.
        assert.deepEqual(env.evidence, ['cpuinfo hypervisor flag', 'SMBIOS: OpenStack Foundation OpenStack Nova']);
      });
    });
  });

  describe('a container (Kubernetes pod on Docker, cgroup v2)', () => {
    onMachine('container', (read) => {
      it('reports every hardware component absent rather than failing', () => {
        const statuses = Object.fromEntries(Object.entries(read().components).map(([id, component]) => [id, component.status]));
        assert.deepEqual(statuses, {
          'os.machineId': 'absent',
          'hw.systemUuid': 'absent',
          'hw.boardSerial': 'absent',
          'disk.bootSerial': 'absent',
          'net.macs': 'absent',
          'cpu.signature': 'ok',
          'hw.model': 'absent',
        });
      });
      it('explains that the root file system is an overlay, not a disk', () => {
        assert.match(read().components['disk.bootSerial']?.detail ?? '', /overlay/);
      });
      it('detects the container and names Kubernetes over Docker', () => {
        assert.equal(read().env.container, true);
        assert.equal(read().env.containerRuntime, 'kubernetes');
        assert.deepEqual(read().env.evidence, ['/.dockerenv', 'root mount is a docker overlay', 'KUBERNETES_SERVICE_HOST is set']);
      });
      it('names what tells this container from another of its image: the source of its /etc/hostname mount', () => {
        assert.equal(read().env.containerId, '/var/lib/docker/containers/5b2f0c1e9a7d4f3b8c6e2a1d0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e/hostname');
      });
    });
  });

  describe('a laptop whose SMBIOS UUID and serials are root-only (0400)', () => {
    onMachine('dmi-root-only', (read, machine) => {
      it('reports the UUID and serial as denied, not as an error, for an unprivileged user', () => {
        const unprivileged = collectAsUnprivilegedUser(machine().root);
        assert.deepEqual(unprivileged.components['hw.systemUuid'], {
          status: 'denied',
          detail: 'product_uuid is readable by root only',
        });
        assert.deepEqual(unprivileged.components['hw.boardSerial'], {
          status: 'denied',
          detail: 'board_serial is readable by root only',
        });
      });
      it('still reads the world-readable names, machine id, eMMC serial and NIC for that user', () => {
        const unprivileged = collectAsUnprivilegedUser(machine().root);
        assert.equal(unprivileged.components['hw.model']?.value, 'LENOVO|82C4|LNVNB161216');
        assert.equal(unprivileged.components['os.machineId']?.status, 'ok');
        assert.equal(unprivileged.components['disk.bootSerial']?.value, '0X8A3B2C1D');
        assert.deepEqual(unprivileged.components['net.macs']?.value, ['98:e7:43:01:02:03']);
      });
      it('reads the UUID when the reader may (a service running as root)', function () {
        // Root reads 0400 files; a non-root test run has made them unreadable even to itself.
        const expected = process.getuid?.() === 0 ? 'ok' : 'denied';
        assert.equal(read().components['hw.systemUuid']?.status, expected);
      });
    });
  });

  describe('collect() over a fixture', () => {
    onMachine('sata-lvm', (read, machine) => {
      it('resolves to the same result as collectSync()', async () => {
        assert.deepEqual(await collect({ root: machine().root }), read());
      });
    });
  });
});
