import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('loading the native addon', () => {
  it('names what to install and how to rebuild when the binary is missing', () => {
    // A copy of the compiled wrapper inside a licensor package that was never built.
    const pkg = mkdtempSync(join(tmpdir(), 'licensor-unbuilt-'));
    try {
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'licensor' }));
      const dir = join(pkg, 'dist', 'client', 'fingerprint');
      mkdirSync(dir, { recursive: true });
      for (const file of ['addon.js', 'device-fingerprint.js']) copyFileSync(join(__dirname, '../../client/fingerprint', file), join(dir, file));
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the copy is the point
      const wrapper = require(join(dir, 'addon.js')) as typeof import('../../client/fingerprint/addon');
      assert.throws(
        () => wrapper.collectSync(),
        (error: Error) => {
          assert.match(error.message, /build\/Release\/licensor_fingerprint\.node does not exist/);
          assert.match(error.message, /python3, make and a C\+\+17 compiler/);
          assert.match(error.message, /npm rebuild licensor/);
          assert.match(error.message, /npx node-gyp rebuild/);
          return true;
        },
      );
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });
});
