import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { collect, collectSync } from '@licensor/client';
import type { CollectedFingerprint } from '@licensor/client/contract';
import { Unavailable, prerequisites } from '../support/emulation';
import { PRIVATE_MOUNT_NAMESPACE, type MountRun } from './helpers/mount-run';
import { packageRoot } from './helpers/package-root';

// A collection remembers what cannot change under a running process (native/linux/remembered.cc):
// these specs hold it to what a first reading finds, and to changes made while the process lives.

// Where the mounted hostname file lies inside its tmpfs: what the env report names.
const HOSTNAME_SOURCE = '/licensor-test-hostname';

function helper(name: string): string {
  return join(packageRoot(), 'dist', 'test', 'native', 'helpers', `${name}.js`);
}

/** This machine's fingerprint as read by a new Node process, which has remembered nothing. */
function collectedByNewProcess(): CollectedFingerprint {
  const loader = require.resolve('@licensor/client');
  const script = 'process.stdout.write(JSON.stringify(require(process.argv[1]).collectSync()))';
  return JSON.parse(execFileSync(process.execPath, ['-e', script, loader], { encoding: 'utf8' })) as CollectedFingerprint;
}

/** The mount-run helper in a private mount namespace; Unavailable where one cannot be made. */
function runInPrivateMountNamespace(): MountRun {
  if (!existsSync('/etc/hostname')) throw new Unavailable('there is no /etc/hostname to mount over');
  // As root a mount namespace alone; otherwise inside a user namespace that maps us to root.
  const user = process.getuid?.() === 0 ? [] : ['--user', '--map-root-user'];
  try {
    execFileSync('unshare', [...user, '--mount', '--propagation', 'private', 'true'], { stdio: 'ignore' });
  } catch (error) {
    throw new Unavailable(`unshare cannot make a private mount namespace here (${(error as Error).message.split('\n')[0]})`);
  }
  const output = execFileSync('unshare', [...user, '--mount', '--propagation', 'private', process.execPath, helper('mount-run')], {
    encoding: 'utf8',
    env: { ...process.env, [PRIVATE_MOUNT_NAMESPACE]: HOSTNAME_SOURCE },
  });
  return JSON.parse(output) as MountRun;
}

describe('collecting again in the same process', () => {
  it('gives, after many collections, exactly what a new process reads', async () => {
    for (let i = 0; i < 50; i++) collectSync();
    await Promise.all([collect(), collect()]);
    assert.deepEqual(collectSync(), collectedByNewProcess());
    assert.deepEqual(await collect(), collectedByNewProcess());
  });

  describe('while mounts change (a private mount namespace)', () => {
    let run: MountRun;
    before(async function () {
      this.timeout(30_000);
      run = await prerequisites(this, 'a private mount namespace', async () => runInPrivateMountNamespace());
    });

    it('sees a container hostname file mounted after the first collection', () => {
      assert.notEqual(run.before.env.containerId, HOSTNAME_SOURCE);
      assert.equal(run.mounted.env.container, true);
      assert.equal(run.mounted.env.containerId, HOSTNAME_SOURCE);
    });

    it('sees it unmounted again, through collect() as through collectSync()', () => {
      assert.notEqual(run.unmounted.env.containerId, HOSTNAME_SOURCE);
    });

    it('reads every component the same before and after', () => {
      assert.deepEqual(run.mounted.components, run.before.components);
      assert.deepEqual(run.unmounted.components, run.before.components);
    });
  });
});
