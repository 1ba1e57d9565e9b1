import { strict as assert } from 'node:assert';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { prebuildOf, prerequisites } from '../support/emulation';
import { packageRoot } from './helpers/package-root';

interface GlibcNeeded {
  glibcNeeded(file: string): { newest: string | null; symbols: Record<string, string[]> };
  compareGlibcVersions(a: string, b: string): number;
}
// The reader `npm run prebuilds` reports with: plain JavaScript beside the build script.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS tool outside the TypeScript tree
const { glibcNeeded, compareGlibcVersions } = require(join(packageRoot(), 'native', 'prebuild', 'glibc-needed.js')) as GlibcNeeded;

// CentOS/RHEL 7's glibc, the oldest any maintained distribution ships (README.md, docs/fingerprint.md#glibc).
const OLDEST_GLIBC = 'GLIBC_2.17';

describe('the prebuilt Linux binaries', () => {
  for (const target of ['linux-x64', 'linux-arm64']) {
    it(`${target} needs no glibc newer than 2.17, read from its dynamic symbol table`, async function () {
      const binary = await prerequisites(this, `the ${target} prebuild`, async () => prebuildOf(target));
      const { newest, symbols } = glibcNeeded(binary);
      console.log(`      ${target}: ${Math.round(statSync(binary).size / 1024)} KiB, needs ${newest} (${symbols[newest!]!.slice(0, 3).join(', ')})`);
      assert.ok(newest !== null && compareGlibcVersions(newest, OLDEST_GLIBC) <= 0, `${target} needs ${newest}: ${symbols[newest!]!.join(', ')}`);
    });
  }
});
