import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { packageRoot } from './native/helpers/package-root';

const run = promisify(execFile);
const ROOT = packageRoot();

/** The server as a package (docs/deploy.md): what `npm pack` puts in it, and the entry point it declares. */
describe('the licensor server package', () => {
  it('packs the built server, its launcher and its static pages, and no tests, fixtures, benchmarks or sources', async function () {
    this.timeout(60_000);
    // Scripts off: the tarball is made from what `npm test` built (prepack builds it otherwise).
    const packed = JSON.parse((await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 })).stdout);
    const files: string[] = packed[0].files.map((f: { path: string }) => f.path);
    const unexpected = files.filter(
      (path) =>
        !/^dist\/src\/.+\.(js|d\.ts)$/.test(path) &&
        !/^src\/http\/(dashboard|docs)\/public\/.+\.(js|css|html|svg)$/.test(path) &&
        !['bin/licensor.js', 'package.json', 'README.md', 'LICENSE'].includes(path),
    );
    assert.deepEqual(unexpected, []);
    assert.ok(files.includes('dist/src/index.js') && files.includes('dist/src/cli/main.js'));
    assert.equal(packed[0].name, 'licensor');
  });

  it('declares an entry point that loads, with the configuration and the server to embed', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the package by its own entry point, as a dependant requires it
    const licensor = require(ROOT) as typeof import('../src/index');
    assert.equal(typeof licensor.startServer, 'function');
    assert.equal(typeof licensor.loadConfig, 'function');
    assert.equal(typeof licensor.createLogger, 'function');
    assert.equal(licensor.loadConfig({}, ROOT).port, 7300);
  });

  it('depends on the client package for the wire contract, and installs no compiler step of its own', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the manifest as npm reads it
    const manifest = require(`${ROOT}/package.json`) as { dependencies: Record<string, string>; scripts: Record<string, string>; gypfile?: boolean };
    assert.ok(manifest.dependencies['@licensor/client']);
    assert.equal(manifest.gypfile, false);
    assert.equal(manifest.scripts.install, undefined);
    assert.equal(manifest.scripts.postinstall, undefined);
  });
});
