/**
 * A short workload for memory checkers (not a mocha suite), run as
 *   valgrind --error-exitcode=1 --leak-check=full node dist/test/native/helpers/memcheck-run.js
 * It drives every native path: the real machine and each fixture tree, sync and async, and
 * the argument errors. It loads the local build (`npx node-gyp rebuild`), not the prebuild the
 * client loader prefers: that one is stripped and carries its own libstdc++, whose operator
 * new valgrind does not replace, so every string freed in it reads as a mismatched free.
 */
import { join } from 'node:path';
import type { CollectOptions, CollectedFingerprint } from '@licensor/client/contract';
import { materializeMachine, type MachineName } from './machines';
import { packageRoot } from './package-root';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- native modules load through require
const { collect, collectSync } = require(join(packageRoot(), 'build', 'Release', 'licensor_fingerprint.node')) as {
  collect(options?: CollectOptions): Promise<CollectedFingerprint>;
  collectSync(options?: CollectOptions): CollectedFingerprint;
};

const MACHINES: MachineName[] = ['nvme-bare-metal', 'sata-lvm', 'md-raid-udev', 'vm-virtio', 'container', 'dmi-root-only'];

async function run(): Promise<void> {
  const roots: Array<string | undefined> = [undefined];
  const machines = MACHINES.map((name) => materializeMachine(name));
  roots.push(...machines.map((machine) => machine.root));
  try {
    for (const root of roots) {
      const options = root === undefined ? undefined : { root };
      for (let i = 0; i < 3; i++) collectSync(options);
      await Promise.all([collect(options), collect(options), collect(options)]);
    }
    for (const bad of [42, { include: ['nope'] }, { root: 'relative' }]) {
      try {
        collectSync(bad as never);
      } catch {
        // expected TypeError
      }
    }
    process.stdout.write(`memcheck workload done: ${roots.length} roots\n`);
  } finally {
    for (const machine of machines) machine.remove();
  }
}

void run();
