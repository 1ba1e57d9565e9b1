/**
 * Run by an emulated Node (node.exe under Wine, arm64 node under qemu; test/support/emulation.ts):
 * loads the addon through the client's loader, reads the fingerprint both ways and one argument
 * error, and writes it all as JSON to the file named by its second argument (stdout may not be
 * usable there).
 */
import { writeFileSync } from 'node:fs';
import { collect, collectSync } from '@licensor/client';
import type { CollectOptions, CollectedFingerprint } from '@licensor/client/contract';

export interface CollectRun {
  platform: string;
  arch: string;
  node: string;
  /** The native binaries this process loaded. */
  loaded: string[];
  sync: CollectedFingerprint;
  async: CollectedFingerprint;
  argumentError: string;
}

async function main(): Promise<void> {
  const sync = collectSync();
  const async = await collect();
  let argumentError = '';
  try {
    collectSync({ bogus: true } as CollectOptions);
  } catch (error) {
    argumentError = `${(error as Error).name}: ${(error as Error).message}`;
  }
  const loaded = Object.keys(require.cache).filter((path) => path.endsWith('.node'));
  const run: CollectRun = { platform: process.platform, arch: process.arch, node: process.version, loaded, sync, async, argumentError };
  writeFileSync(process.argv[3]!, JSON.stringify(run));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
