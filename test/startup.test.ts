import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { call } from './support/http';
import { BIN, spawnServer } from './support/processes';

const run = promisify(execFile);

describe('starting licensor with no configuration', () => {
  const home = mkdtempSync(join(tmpdir(), 'licensor-start-'));
  const dataDir = join(home, 'data');
  after(() => rmSync(home, { recursive: true, force: true }));

  it('creates its data directory, database, first signing key and admin token, and says how to begin', async () => {
    const server = await spawnServer({ LICENSOR_DATA_DIR: dataDir, LICENSOR_ADMIN_TOKEN: '' });
    try {
      const banner = server.stderr();
      assert.match(banner, /licensor listening on http:\/\/127\.0\.0\.1:\d+/);
      assert.match(banner, /sqlite: .*licensor\.db/);
      assert.match(banner, /admin token: generated, kept in .*admin-token/);
      assert.match(banner, /licensor codes issue --product/);
      assert.ok(existsSync(join(dataDir, 'licensor.db')));
      assert.equal(statSync(join(dataDir, 'admin-token')).mode & 0o777, 0o600);
      const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      // Where it is kept, never the token itself: stderr lands in journals others read.
      assert.ok(!banner.includes(token), 'the banner shows the admin token');
      assert.ok(!server.stdout().includes(token), 'the log shows the admin token');
      const jwks = await call(server.url, 'GET', '/.well-known/jwks.json');
      assert.equal(jwks.body.keys.length, 1);
      const products = await call(server.url, 'GET', '/v1/admin/products', undefined, { authorization: `Bearer ${token}` });
      assert.equal(products.status, 200);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('says where the admin token is kept on later starts too, never the token', async () => {
    const server = await spawnServer({ LICENSOR_DATA_DIR: dataDir, LICENSOR_ADMIN_TOKEN: '' });
    try {
      const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      assert.ok(!server.stderr().includes(token));
      assert.match(server.stderr(), /admin token: in .*admin-token/);
    } finally {
      await server.stop();
    }
  });

  it('refuses a bad configuration with one clear line per problem', async () => {
    await assert.rejects(
      run(process.execPath, [BIN, 'serve'], { env: { ...process.env, LICENSOR_PORT: 'eighty', DATABASE_URL: 'mysql://x', LICENSOR_DATA_DIR: dataDir } }),
      (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 2);
        assert.match(err.stderr, /LICENSOR_PORT must be a whole number/);
        assert.match(err.stderr, /DATABASE_URL must start with postgres:\/\//);
        return true;
      },
    );
  });

  it('exits, rather than hanging, when its port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = String((taken.address() as AddressInfo).port);
    try {
      await assert.rejects(
        run(process.execPath, [BIN, 'serve'], {
          timeout: 20_000,
          env: { ...process.env, LICENSOR_HOST: '127.0.0.1', LICENSOR_PORT: port, LICENSOR_DATA_DIR: dataDir },
        }),
        (err: { code: number | null; killed: boolean; stderr: string }) => {
          assert.equal(err.killed, false, 'the server was still running after 20 s');
          assert.notEqual(err.code, 0);
          assert.match(err.stderr, /EADDRINUSE/);
          return true;
        },
      );
    } finally {
      taken.close();
    }
  });

  it('prints usage with --help', async () => {
    const { stdout } = await run(process.execPath, [BIN, '--help']);
    assert.match(stdout, /Usage: licensor <command>/);
  });
});
