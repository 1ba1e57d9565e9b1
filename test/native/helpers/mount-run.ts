/**
 * Run in a private mount namespace by test/native/repeated-collection.test.ts (as root, or as
 * root of a new user namespace): collects, mounts a container's /etc/hostname over this one
 * (a tmpfs on /run carries the file and podman's /run/.containerenv), collects, unmounts it,
 * collects again, and prints the three readings as JSON. The mounts die with the namespace.
 * It mounts nothing unless started as a script with PRIVATE_MOUNT_NAMESPACE set, which only
 * the test's `unshare` command line does: in the shared namespace the tmpfs would hide /run.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { collect, collectSync } from '@licensor/client';
import type { CollectedFingerprint } from '@licensor/client/contract';

export interface MountRun {
  before: CollectedFingerprint;
  mounted: CollectedFingerprint;
  unmounted: CollectedFingerprint;
}

/** Set by the test in the environment of the unshared process only. */
export const PRIVATE_MOUNT_NAMESPACE = 'LICENSOR_TEST_PRIVATE_MOUNT_NAMESPACE';

async function main(): Promise<void> {
  const source = process.env[PRIVATE_MOUNT_NAMESPACE];
  if (source === undefined || !source.startsWith('/')) throw new Error(`${PRIVATE_MOUNT_NAMESPACE} is not set: refusing to mount`);
  const before = collectSync();
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', '/run']);
  writeFileSync('/run/.containerenv', '');
  writeFileSync(`/run${source}`, 'test\n');
  execFileSync('mount', ['--bind', `/run${source}`, '/etc/hostname']);
  const mounted = collectSync();
  execFileSync('umount', ['/etc/hostname']);
  const unmounted = await collect();
  const run: MountRun = { before, mounted, unmounted };
  process.stdout.write(JSON.stringify(run));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
