import { strict as assert } from 'node:assert';
import { cliEnv, runBinary, runCli } from './support/cli';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { ADMIN_TOKEN } from './support/harness';
import { admin } from './support/http';
import { freePort, MARKETPLACE_KEY, marketplaceEnv } from './support/marketplace';
import { spawnServer, type ServerProcess } from './support/processes';

const AKSK = 'AKSIMULATE0001:SKSIMULATE0001';

interface Check {
  name: string;
  ok: boolean;
  skipped?: boolean;
  detail: string;
}

forEachEngine('`licensor simulate` against two fresh server processes', (engine) => {
  let db: TestDatabase;
  let servers: ServerProcess[] = [];
  let marketplacePort: number;
  const product = `simulate-${engine}`;

  before(async function () {
    this.timeout(60_000);
    db = await createTestDatabase(engine);
    const created = await runCli(['products', 'create', '--name', product], cliEnv(db));
    assert.equal(created.code, 0, created.err);
    marketplacePort = await freePort();
    const env = {
      ...cliEnv(db, { LICENSOR_ADMIN_TOKEN: ADMIN_TOKEN, LICENSOR_LOG_LEVEL: 'warn' }),
      ...marketplaceEnv(product, {
        LICENSOR_MARKETPLACE_AKSK: AKSK,
        LICENSOR_MARKETPLACE_API_URL: `http://127.0.0.1:${marketplacePort}`,
        LICENSOR_MARKETPLACE_BUDGET_MS: '1000',
        LICENSOR_OUTBOX_POLL_MS: '200',
      }),
    };
    servers = await Promise.all([spawnServer(env), spawnServer(env)]);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await db?.drop();
  });

  it('passes every check, also the marketplace API it serves and the retries while the database is held busy', async function () {
    this.timeout(180_000);
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const run = await runBinary(
      [
        'simulate',
        '--url',
        `${a.url}/produce`,
        '--key',
        MARKETPLACE_KEY,
        '--replay-url',
        `${b.url}/produce`,
        '--serve-marketplace',
        `127.0.0.1:${marketplacePort}`,
        '--aksk',
        AKSK,
        '--hold-database',
        '--json',
      ],
      cliEnv(db),
      150_000,
    );
    const checks = (run.json?.checks ?? []) as Check[];
    assert.deepEqual(
      checks.filter((c) => !c.ok),
      [],
      run.out + run.err,
    );
    assert.deepEqual(
      checks.filter((c) => c.skipped).map((c) => c.name),
      [],
      'nothing skipped',
    );
    assert.equal(run.code, 0, run.err);
    assert.equal(run.json.ok, true);
    const names = checks.map((c) => c.name);
    for (const played of [
      'newInstance, 20 identical calls at once: every one the same instanceId',
      'newInstance while the server is slow: every retry answers 000004',
      'newInstance while the server is slow: every retry names the same instanceId',
      'queryInstance after the slow newInstance: the instance it named exists',
      'order/query: licensor asks for the order it was sent, signed with its AK/SK',
      "order/query: the instance takes the order's expiry",
      'upgradeInstance: the third device now has a seat (4 bought)',
      'upload: what was uploaded is the license the retry answers',
      'refreshLicenseCode RENEWAL of a code the marketplace made: answers 000000',
      'releaseLicenseCode of a code the marketplace made retried: answers 000000',
      'a replayed request (same nonce, another server process) is refused with 000001',
    ]) {
      assert.ok(names.includes(played), `played: ${played}`);
    }
    // Everything the simulator made is test data, and nothing licensor owed the marketplace failed.
    const tests = await admin(a.url, 'GET', `/v1/admin/codes?test=true&product=${product}&limit=200`);
    assert.ok(
      tests.body.items.some((c: { code: string }) => c.code.startsWith('PL')),
      'the adopted code is test data',
    );
    const failed = await admin(a.url, 'GET', '/v1/admin/outbox?status=failed');
    assert.deepEqual(failed.body.items, []);
  });

  it('passes with the checks it cannot play listed as skipped, without the stand-in or the hold', async function () {
    this.timeout(120_000);
    const run = await runBinary(['simulate', '--url', `${servers[0]!.url}/produce`, '--key', MARKETPLACE_KEY], {}, 100_000);
    assert.equal(run.code, 0, run.out + run.err);
    assert.match(run.out, /^skip {2}order\/query: licensor asks for the order it was sent$/m);
    assert.match(run.out, /^skip {2}newInstance retried while the server is slow$/m);
    assert.match(run.out, /simulation: (\d+) of \1 checks passed, \d+ skipped/);
  });
});
