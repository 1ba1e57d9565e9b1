import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectSync } from '@licensor/client';
import type { CollectedFingerprint } from '@licensor/client/contract';
import { packageRoot } from './package-root';

// The conventional unprivileged account ("nobody").
const NOBODY = 65534;

/**
 * collectSync({ root }) with the permissions of an unprivileged user, so files the kernel
 * makes root-only really fail with EACCES. When the tests run as root (CI here does), a child
 * node process is started as nobody — the test spawns it, the addon never spawns anything.
 * The child loads a copy of the built addon from a world-readable temporary directory, so it
 * does not depend on the permissions of the checkout. A non-root run reads in-process.
 */
export function collectAsUnprivilegedUser(root: string): CollectedFingerprint {
  if (process.getuid?.() !== 0) return collectSync({ root });
  const dir = mkdtempSync(join(tmpdir(), 'licensor-fp-addon-'));
  try {
    chmodSync(dir, 0o755);
    const binary = join(dir, 'licensor_fingerprint.node');
    copyFileSync(join(packageRoot(), 'build', 'Release', 'licensor_fingerprint.node'), binary);
    chmodSync(binary, 0o755);
    const script = 'process.stdout.write(JSON.stringify(require(process.argv[1]).collectSync({ root: process.argv[2] })))';
    const output = execFileSync(process.execPath, ['-e', script, binary, root], {
      uid: NOBODY,
      gid: NOBODY,
      cwd: dir,
      encoding: 'utf8',
    });
    return JSON.parse(output) as CollectedFingerprint;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
