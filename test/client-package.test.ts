import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from './support/databases';
import { ADMIN_TOKEN } from './support/harness';
import { admin } from './support/http';
import { packageRoot } from './native/helpers/package-root';
import { spawnServer, type ServerProcess } from './support/processes';

const run = promisify(execFile);
const ROOT = packageRoot();
const HOST_PREBUILD = join(ROOT, 'client', 'prebuilds', `${process.platform}-${process.arch}`);

/** Every file below `dir` and their total size. */
function walk(dir: string): { files: string[]; bytes: number } {
  const files: string[] = [];
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.push(path);
    bytes += statSync(path).size;
  }
  return { files, bytes };
}

/**
 * A vendor's install of the client (docs/client.md): the package as `npm pack` makes it, installed
 * into an empty application with no compiler on PATH and install scripts off, then used as an
 * application uses it against a real licensor: activate, check offline with the server stopped,
 * deactivate once it is back.
 */
describe('the client package, installed as a vendor installs it', function () {
  this.timeout(240_000);
  const made: string[] = [];
  const temp = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
  let tarball: string;
  let contents: string[];
  let app: string;
  let PATH: string;

  before(async () => {
    // The tarball carries the prebuilds: CI builds them all first; make this machine's if they are missing.
    if (!existsSync(HOST_PREBUILD))
      execFileSync(process.execPath, [join(ROOT, 'native', 'prebuild', 'prebuild.js'), `${process.platform}-${process.arch}`], { stdio: 'inherit' });
    const packs = temp('licensor-pack-');
    const packed = JSON.parse(
      (await run('npm', ['pack', '-w', 'client', '--pack-destination', packs, '--json'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 })).stdout,
    );
    tarball = join(packs, packed[0].filename);
    contents = packed[0].files.map((f: { path: string }) => f.path);

    // A PATH with node and npm only: no cc, g++, make or python3 to fall back on.
    const bin = temp('licensor-bin-');
    for (const tool of ['node', 'npm']) symlinkSync(execFileSync('which', [tool], { encoding: 'utf8' }).trim(), join(bin, tool));
    PATH = bin;
    app = temp('licensor-vendor-app-');
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'vendor-app', version: '1.0.0', private: true }));
    const started = Date.now();
    await run('npm', ['install', '--ignore-scripts', '--offline', '--no-audit', '--no-fund', tarball], { cwd: app, env: { ...process.env, PATH } });
    const installed = walk(join(app, 'node_modules'));
    const packages = readdirSync(join(app, 'node_modules'), { recursive: true }).filter(
      (p) => String(p).endsWith('package.json') && !String(p).includes('native'),
    ).length;
    console.log(
      `      installed in ${((Date.now() - started) / 1000).toFixed(1)} s: ${(installed.bytes / 1024 / 1024).toFixed(2)} MB in ${installed.files.length} files, ${packages} package(s)`,
    );
  });
  after(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('packs only built JavaScript, type declarations, the prebuilds, the addon sources for a local build, a README and the license', () => {
    const unexpected = contents.filter(
      (path) =>
        !/^dist\/src\/.+\.(js|d\.ts)$/.test(path) &&
        !/^prebuilds\/[a-z0-9]+-[a-z0-9]+\/licensor_fingerprint\.napi(\.glibc)?\.node$/.test(path) &&
        !/^native\/(common|linux|mac|win)\/[a-z_]+\.(cc|h)$/.test(path) &&
        !/^native\/fingerprint\.h$|^native\/addon\.cc$/.test(path) &&
        !['package.json', 'README.md', 'LICENSE', 'binding.gyp'].includes(path),
    );
    assert.deepEqual(unexpected, []);
    assert.ok(contents.includes(`prebuilds/${process.platform}-${process.arch}/licensor_fingerprint.napi${process.platform === 'linux' ? '.glibc' : ''}.node`));
    assert.ok(!contents.some((path) => path.includes('test') || path.endsWith('.map') || path.endsWith('.tsbuildinfo')));
    assert.ok(!existsSync(join(ROOT, 'client', 'binding.gyp')), 'the sources copied in for packing are gone again');
  });

  it('installs in at most 5 MB with no dependency, no install script and no compiler', () => {
    assert.ok(walk(join(app, 'node_modules')).bytes <= 5 * 1024 * 1024);
    assert.deepEqual(readdirSync(join(app, 'node_modules')).sort(), ['.package-lock.json', '@licensor']);
    assert.deepEqual(readdirSync(join(app, 'node_modules', '@licensor')), ['client']);
    assert.ok(!existsSync(join(app, 'node_modules', '@licensor', 'client', 'build')), 'nothing was compiled');
  });

  describe('used by the application against a licensor', () => {
    let db: TestDatabase;
    let server: ServerProcess | null = null;
    const env = () => ({ LICENSOR_DATA_DIR: db.dataDir, LICENSOR_ADMIN_TOKEN: ADMIN_TOKEN });
    let options: Record<string, unknown>;
    let code: string;

    /** Runs `script` in the application, as the application's own Node process, with the client it installed. */
    const inApp = async (script: string): Promise<any> => {
      const file = join(app, 'run.js');
      writeFileSync(
        file,
        `const { LicenseClient } = require('@licensor/client');
         const client = new LicenseClient(${JSON.stringify(options)});
         (async () => { ${script} })().then((out) => process.stdout.write(JSON.stringify(out)), (err) => { process.stdout.write(JSON.stringify({ error: err.code ?? String(err) })); });`,
      );
      return JSON.parse((await run(process.execPath, [file], { cwd: app, env: { ...process.env, PATH } })).stdout);
    };

    before(async () => {
      db = await createTestDatabase('sqlite');
      server = await spawnServer(env());
      // This machine is a container (test/containers.test.ts): the product licenses container instances.
      await admin(server.url, 'POST', '/v1/admin/products', { name: 'vendor-app', seatMode: 'floating', leaseSeconds: 3600, containers: 'instance' });
      code = (await admin(server.url, 'POST', '/v1/admin/codes', { product: 'vendor-app', seats: 1, days: 30 })).body.code.code;
      const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
      const storeDir = join(app, 'license');
      mkdirSync(storeDir);
      options = { serverUrl: server.url, product: 'vendor-app', publicKeys: jwks, storeDir, fingerprintKey: 'vendor-app-2026' };
    });
    after(async () => {
      await server?.stop();
      await db?.drop();
    });

    it('activates, checks offline with the server stopped, and deactivates once it is back', async () => {
      const activated = await inApp(`return (await client.activate(${JSON.stringify(code)})).valid;`);
      assert.equal(activated, true);

      await server!.stop();
      server = null;
      const offline = await inApp('return client.check();');
      assert.equal(offline.valid, true, JSON.stringify(offline));

      server = await spawnServer({ ...env(), LICENSOR_PORT: String(new URL(String(options.serverUrl)).port) });
      assert.deepEqual(await inApp('await client.deactivate(); return client.check().reason;'), 'no_license');
    });
  });
});
