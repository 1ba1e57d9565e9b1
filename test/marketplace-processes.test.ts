import { strict as assert } from 'node:assert';
import { ConfigError, loadConfig } from '../src/config';
import { runBinary, runCli, cliEnv } from './support/cli';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { ADMIN_TOKEN } from './support/harness';
import { admin } from './support/http';
import { compact, marketplaceEnv, mkpId, produce, replay, signedRequest } from './support/marketplace';
import { spawnServer, type ServerProcess } from './support/processes';

forEachEngine('the marketplace against two real server processes', (engine) => {
  let db: TestDatabase;
  let servers: ServerProcess[] = [];
  const product = `processes-${engine}`;

  before(async function () {
    this.timeout(60_000);
    db = await createTestDatabase(engine);
    const created = await runCli(['products', 'create', '--name', product], cliEnv(db));
    assert.equal(created.code, 0, created.err);
    const env = { ...cliEnv(db, { LICENSOR_ADMIN_TOKEN: ADMIN_TOKEN }), ...marketplaceEnv(product, { LICENSOR_MARKETPLACE_SEATS: '1' }) };
    servers = await Promise.all([spawnServer(env), spawnServer(env)]);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await db?.drop();
  });

  const [a, b] = [() => servers[0]!, () => servers[1]!];

  it('refuses a request replayed to the other process: the nonce is remembered in the shared database', async () => {
    const first = await produce(
      a().url,
      { activity: 'newInstance', orderId: mkpId('ORDER'), orderLineId: 'L1', businessId: mkpId('BIZ') },
      { now: Date.now() },
    );
    assert.equal(first.body.resultCode, '000000', first.bytes.toString());
    const toOther = await replay(first.sent, b().url);
    assert.equal(toOther.body.resultCode, '000001', toOther.bytes.toString());
    const toSame = await replay(first.sent);
    assert.equal(toSame.body.resultCode, '000001', toSame.bytes.toString());
  });

  it('lets exactly one of two processes accept a nonce sent to both at once', async () => {
    for (let round = 0; round < 10; round++) {
      const request = signedRequest(a().url, { activity: 'queryInstance', instanceId: 'none' }, { now: Date.now() });
      const [x, y] = await Promise.all([replay(request, a().url), replay(request, b().url)]);
      // 000003: accepted (and the instance is unknown); 000001: refused as a replay.
      assert.deepEqual([x.body.resultCode, y.body.resultCode].sort(), ['000001', '000003']);
    }
  });

  it('turns 50 retries of one order spread over both processes into one instance', async () => {
    const orderId = mkpId('ORDER');
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        produce(servers[i % 2]!.url, { activity: 'newInstance', orderId, orderLineId: 'L1', businessId: mkpId('BIZ') }, { now: Date.now() }),
      ),
    );
    for (const answer of answers) assert.equal(answer.body.resultCode, '000000', answer.bytes.toString());
    assert.equal(new Set(answers.map((x) => x.body.instanceId)).size, 1);
    const instances = await admin(a().url, 'GET', '/v1/admin/marketplace/instances?limit=500');
    assert.equal(instances.body.items.filter((i: { orderId: string }) => i.orderId === orderId).length, 1);
  });

  it('turns 50 identical license applications spread over both processes into one seat and one license', async () => {
    const created = await produce(
      a().url,
      { activity: 'newInstance', orderId: mkpId('ORDER'), orderLineId: 'L1', businessId: mkpId('BIZ') },
      { now: Date.now() },
    );
    const instanceId = created.body.instanceId as string;
    const application = {
      activity: 'getLicenseAsync',
      instanceId,
      effectiveTime: compact(Date.now()),
      eventId: mkpId('E'),
      deviceFingerprint: 'AA:BB:CC:00:11:22|DISK-1|BOARD-1|CPU-1',
    };
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => produce(servers[i % 2]!.url, application, { now: Date.now() })));
    for (const answer of answers) assert.ok(['000000', '000004'].includes(answer.body.resultCode), answer.bytes.toString());
    assert.ok(new Set(answers.filter((x) => x.body.resultCode === '000000').map((x) => x.body.license)).size <= 1);
    // The marketplace retries until it gets the license: every process answers the same bytes.
    let license: string | undefined;
    for (let attempt = 0; attempt < 50 && license === undefined; attempt++) {
      const answer = await produce(servers[attempt % 2]!.url, application, { now: Date.now() });
      if (answer.body.resultCode === '000000') license = answer.body.license;
    }
    for (const server of servers) assert.equal((await produce(server.url, application, { now: Date.now() })).body.license, license);
    const query = await produce(a().url, { activity: 'queryInstance', instanceId }, { now: Date.now() });
    const machines = await admin(a().url, 'GET', `/v1/admin/codes/${query.body.info[0].licenseCode}/activations`);
    assert.equal(machines.body.items.length, 1);
  });

  it('makes `licensor simulate` fail, with exit code 1, against a server that does not hold its key', async function () {
    this.timeout(60_000);
    const run = await runBinary(['simulate', '--url', `${a().url}/produce`, '--key', 'a-key-the-server-does-not-have'], { PATH: process.env.PATH ?? '' });
    assert.equal(run.code, 1, run.out);
    assert.match(run.out, /FAIL {2}newInstance: answers 000000/);
    assert.match(run.out, /simulation: \d+ of \d+ checks passed/);
  });
});

describe('marketplace configuration', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig({ LICENSOR_DATA_DIR: '/tmp/licensor-config-test', ...env });
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
  };

  it('reads several access keys, the path, the product policy and AK/SK pairs', () => {
    const config = loadConfig({
      LICENSOR_DATA_DIR: '/tmp/licensor-config-test',
      LICENSOR_MARKETPLACE_KEYS: ' key-one-0001 , key-two-0002 ',
      LICENSOR_MARKETPLACE_PATH: '/kg/produce',
      LICENSOR_MARKETPLACE_PRODUCT: 'cad-suite',
      LICENSOR_MARKETPLACE_SEATS: '5',
      LICENSOR_OPENAPI_AKSK: 'AK1:SK1,AK2:S:K2',
    });
    assert.deepEqual(config.marketplace.accessKeys, ['key-one-0001', 'key-two-0002']);
    assert.equal(config.marketplace.productionPath, '/kg/produce');
    assert.equal(config.marketplace.product, 'cad-suite');
    assert.equal(config.marketplace.seats, 5);
    assert.deepEqual(config.marketplace.openApiCredentials, [
      { accessKey: 'AK1', secretKey: 'SK1' },
      { accessKey: 'AK2', secretKey: 'S:K2' },
    ]);
  });

  it('defaults to /produce, no keys, 1 seat, 30 days, a 4 s budget, a closed open API and no calls to the marketplace', () => {
    const { marketplace, outbox } = loadConfig({ LICENSOR_DATA_DIR: '/tmp/licensor-config-test' });
    assert.deepEqual(marketplace, {
      accessKeys: [],
      productionPath: '/produce',
      product: 'marketplace',
      seats: 1,
      instanceDays: 30,
      requireDeviceFingerprint: false,
      budgetMs: 4000,
      openApiCredentials: [],
      openApiAllowUnsigned: false,
      apiUrls: ['https://mkt.myhuaweicloud.com', 'https://mkt.myhuaweicloud.cn'],
      apiCredentials: null,
      apiTimeoutMs: 10_000,
    });
    assert.deepEqual(outbox, { pollMs: 1000, firstRetryMs: 30_000, giveUpAfterMs: 48 * 3_600_000, keepDeliveredMs: 30 * 86_400_000 });
  });

  it('reads the AK/SK licensor calls the marketplace with, and base URLs tried in order', () => {
    const { marketplace } = loadConfig({
      LICENSOR_DATA_DIR: '/tmp/licensor-config-test',
      LICENSOR_MARKETPLACE_AKSK: 'AK1234:SK:5678',
      LICENSOR_MARKETPLACE_API_URL: 'https://mkt-intl.myhuaweicloud.com/, https://mkt.myhuaweicloud.cn,http://127.0.0.1:7401',
    });
    assert.deepEqual(marketplace.apiCredentials, { accessKey: 'AK1234', secretKey: 'SK:5678' });
    assert.deepEqual(marketplace.apiUrls, ['https://mkt-intl.myhuaweicloud.com', 'https://mkt.myhuaweicloud.cn', 'http://127.0.0.1:7401']);
  });

  it('refuses plain http to a host beyond loopback, a URL with a query, a malformed AK/SK and outbox bounds', () => {
    const found = problems({
      LICENSOR_MARKETPLACE_API_URL: 'http://mkt.myhuaweicloud.com,https://mkt.myhuaweicloud.com/?x=1',
      LICENSOR_MARKETPLACE_AKSK: 'only-an-access-key',
      LICENSOR_OUTBOX_GIVE_UP_HOURS: '0',
      LICENSOR_OUTBOX_RETRY_SECONDS: 'soon',
    });
    assert.equal(found.length, 5, found.join('\n'));
    assert.equal(found.filter((p) => p.startsWith('LICENSOR_MARKETPLACE_API_URL')).length, 2);
    assert.ok(found.some((p) => p.startsWith('LICENSOR_MARKETPLACE_AKSK must be one AK:SK pair')));
    assert.ok(found.some((p) => p.startsWith('LICENSOR_OUTBOX_GIVE_UP_HOURS')));
    assert.ok(found.some((p) => p.startsWith('LICENSOR_OUTBOX_RETRY_SECONDS')));
  });

  it('reports every problem at once', () => {
    const found = problems({
      LICENSOR_MARKETPLACE_KEYS: 'short',
      LICENSOR_MARKETPLACE_PATH: '/v1/produce',
      LICENSOR_OPENAPI_AKSK: 'AK1:SK1,broken,AK1:SK2',
      LICENSOR_MARKETPLACE_BUDGET_MS: '6000',
      LICENSOR_MARKETPLACE_REQUIRE_FINGERPRINT: 'maybe',
      LICENSOR_OPENAPI_ALLOW_UNSIGNED: 'yes',
    });
    assert.equal(found.length, 7, found.join('\n'));
    assert.ok(found.some((p) => p.startsWith('LICENSOR_OPENAPI_ALLOW_UNSIGNED must be true or false')));
    assert.ok(found.some((p) => p.startsWith('LICENSOR_MARKETPLACE_KEYS')));
    assert.ok(found.some((p) => p.startsWith('LICENSOR_MARKETPLACE_PATH')));
    assert.ok(found.some((p) => p.includes('twice')));
    assert.ok(found.some((p) => p.startsWith('LICENSOR_MARKETPLACE_BUDGET_MS')));
  });

  it('refuses unsigned calls allowed beside AK/SK pairs: with pairs every call is signed', () => {
    const found = problems({ LICENSOR_OPENAPI_AKSK: 'AK1:SK1', LICENSOR_OPENAPI_ALLOW_UNSIGNED: 'true' });
    assert.deepEqual(found.length, 1, found.join('\n'));
    assert.match(found[0]!, /LICENSOR_OPENAPI_ALLOW_UNSIGNED=true and LICENSOR_OPENAPI_AKSK are both set/);
  });
});
