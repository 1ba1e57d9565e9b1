/**
 * A short workload for memory checkers (not a mocha suite), run as
 *   valgrind --error-exitcode=1 --leak-check=full node dist/test/native/helpers/memcheck-run.js
 * It drives every native path: the real machine and each fixture tree, sync and async, and
 * the argument errors.
 */
import { collect, collectSync } from '@licensor/client';
import { materializeMachine, type MachineName } from './machines';

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
