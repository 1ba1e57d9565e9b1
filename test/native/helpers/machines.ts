/**
 * Fixture machines: file trees under test/fixtures/machines/<name>/ that model another
 * machine's /etc, /proc, /sys and /run. Git keeps plain files; each tree's fixture.json lists
 * what git cannot carry faithfully, which this helper adds in a temporary copy:
 * - `links`: sysfs symlinks (relative, so they resolve inside the copy);
 * - `dirs`: empty directories (e.g. a NIC's `wireless/`);
 * - `rootOnly`: files the kernel creates 0400 root (SMBIOS UUID and serials).
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packageRoot } from './package-root';

export type MachineName = 'nvme-bare-metal' | 'sata-lvm' | 'md-raid-udev' | 'vm-virtio' | 'container' | 'dmi-root-only';

interface FixtureManifest {
  links: Record<string, string>;
  dirs: string[];
  rootOnly: string[];
}

export interface Machine {
  /** Pass as `collect({ root })`. */
  root: string;
  /** Replaces one file's content (path relative to the machine's root). */
  write(path: string, content: string): void;
  remove(): void;
}

export function fixtureDir(name: MachineName): string {
  return join(packageRoot(), 'test', 'fixtures', 'machines', name);
}

export function materializeMachine(name: MachineName): Machine {
  const source = fixtureDir(name);
  const manifest = JSON.parse(readFileSync(join(source, 'fixture.json'), 'utf8')) as FixtureManifest;
  const root = mkdtempSync(join(tmpdir(), `licensor-fp-${name}-`));
  // mkdtemp makes 0700; an unprivileged reader must be able to enter the tree.
  chmodSync(root, 0o755);
  cpSync(source, root, { recursive: true, filter: (path) => path !== join(source, 'fixture.json') });
  for (const dir of manifest.dirs) mkdirSync(join(root, dir), { recursive: true });
  for (const [path, target] of Object.entries(manifest.links)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    symlinkSync(target, join(root, path));
  }
  // Root reads anything, so for root 0400 root-owned is the kernel's real setup (and the test
  // reads as an unprivileged user); anyone else must not be able to read their own copy.
  const restricted = process.getuid?.() === 0 ? 0o400 : 0o000;
  for (const path of manifest.rootOnly) chmodSync(join(root, path), restricted);
  return {
    root,
    write: (path, content) => writeFileSync(join(root, path), content),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
