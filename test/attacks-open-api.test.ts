import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { generateAuthorizationCode } from '../src/domain/authorization-code';
import { skipWithoutPostgres, createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';
import { claimsOf, issueCode } from './support/license-clients';
import { postFrom } from './support/loopback';
import { OPEN_API, sendOpenApi, signedOpenApiRequest } from './support/open-api';
import { serverEnv, spawnServer, type ServerProcess } from './support/processes';
import { countCodeLookups } from './support/reads';

/**
 * Attacks on the marketplace-compatible open API (docs/marketplace.md §3): calling it where nobody
 * configured it, naming codes by what every lease token shows, guessing through the usage report,
 * and passing off or replaying a signed call.
 */

const CREDENTIALS = { accessKey: 'attack-test-ak', secretKey: 'attack-test-secret-key' };
const AKSK = `${CREDENTIALS.accessKey}:${CREDENTIALS.secretKey}`;

const usageOf = async (server: Pick<TestServer, 'url'>, code: string) => (await admin(server.url, 'GET', `/v1/admin/usage?code=${code}`)).body.items;

forEachEngine('attack: the marketplace-compatible open API', (engine) => {
  describe('with nothing configured', () => {
    let server: TestServer;
    const product = `closed-${engine}`;
    before(async () => {
      server = await startTestServer(engine);
      await admin(server.url, 'POST', '/v1/admin/products', { name: product });
    });
    after(async () => server?.close());

    it('refuses every call with 403 92020001 saying how to open it, and writes nothing', async () => {
      const code = await issueCode(server, product);
      const calls: Array<[string, unknown]> = [
        ['/v1/license/activate', { license: code }],
        ['/v2/license/activate', { license_list: [code] }],
        ['/v1/license/heartbeat', { license: code, heartbeatInfo: { thirdPartyAccount: 'intruder' } }],
        ['/v2/license/heartbeat', { license_list: [code] }],
        ['/v2/license/software-usage-info', { usage_info: [{ license: code, software_usage_Info: [{ active_num: 99_999 }] }] }],
      ];
      for (const [path, body] of calls) {
        const res = await call(server.url, 'POST', OPEN_API + path, body);
        assert.equal(res.status, 403, `${path}: ${res.text}`);
        assert.deepEqual(Object.keys(res.body), ['error_code', 'error_msg']);
        assert.equal(res.body.error_code, '92020001');
        assert.match(
          res.body.error_msg,
          /^Unauthorized: the open API is closed: set LICENSOR_OPENAPI_AKSK .* or LICENSOR_OPENAPI_ALLOW_UNSIGNED=true for local testing/,
        );
      }
      assert.equal((await admin(server.url, 'GET', `/v1/admin/codes/${code}`)).body.code.status, 'issued');
      assert.deepEqual(await usageOf(server, code), []);
    });
  });

  describe('with AK/SK pairs', () => {
    let server: TestServer;
    const product = `aksk-attack-${engine}`;
    before(async () => {
      server = await startTestServer(engine, { LICENSOR_OPENAPI_AKSK: AKSK });
      await admin(server.url, 'POST', '/v1/admin/products', { name: product });
    });
    after(async () => server?.close());

    it('refuses a signature that leaves the body out (X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD)', async () => {
      const code = await issueCode(server, product);
      // Signed honestly over "UNSIGNED-PAYLOAD": any body could then ride on the signature.
      const request = signedOpenApiRequest(
        '/v2/license/software-usage-info',
        { usage_info: [{ license: code, software_usage_Info: [{ id: 'a' }] }] },
        server.clock.now(),
        CREDENTIALS,
        {
          'x-sdk-content-sha256': 'UNSIGNED-PAYLOAD',
        },
      );
      const swapped = { ...request, bytes: Buffer.from(JSON.stringify({ usage_info: [{ license: code, software_usage_Info: [{ active_num: 99_999 }] }] })) };
      const res = await sendOpenApi(server.url, swapped);
      assert.equal(res.status, 403, res.text);
      assert.equal(res.body.error_code, '92020001');
      assert.match(res.body.error_msg, /UNSIGNED-PAYLOAD/);
      assert.deepEqual(await usageOf(server, code), []);
    });

    it('accepts a signature once: the same request again inside its 15 minutes is a replay', async () => {
      const code = await issueCode(server, product);
      const report = { usage_info: [{ license: code, software_usage_Info: [{ id: 'first' }] }] };
      const request = signedOpenApiRequest('/v2/license/software-usage-info', report, server.clock.now(), CREDENTIALS);
      assert.equal((await sendOpenApi(server.url, request)).body.error_code, '92020000');
      server.clock.advance(10 * 60_000);
      const replayed = await sendOpenApi(server.url, request);
      assert.equal(replayed.status, 403, replayed.text);
      assert.equal(replayed.body.error_code, '92020001');
      assert.match(replayed.body.error_msg, /replay/);
      // A fresh signature of the same body is a new request, and welcome.
      assert.equal(
        (await sendOpenApi(server.url, signedOpenApiRequest('/v2/license/software-usage-info', report, server.clock.now(), CREDENTIALS))).body.error_code,
        '92020000',
      );
    });
  });

  describe('opened for local testing', () => {
    let server: TestServer;
    const product = `unsigned-attack-${engine}`;
    before(async () => {
      server = await startTestServer(engine, { LICENSOR_OPENAPI_ALLOW_UNSIGNED: 'true', LICENSOR_GUESS_BURST: '20', LICENSOR_GUESSES_PER_MINUTE: '10' });
      await admin(server.url, 'POST', '/v1/admin/products', { name: product });
    });
    after(async () => server?.close());

    it('knows codes by the code only, never by the internal id every lease token shows as `sub`', async () => {
      const code = await issueCode(server, product, 2);
      const activated = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('token-holder') });
      assert.equal(activated.status, 201, activated.text);
      const sub: string = claimsOf(activated.body.token).sub;
      assert.equal(sub, (await admin(server.url, 'GET', `/v1/admin/codes/${code}`)).body.code.id);
      const open = (path: string, body: unknown) => postFrom('127.0.0.11', server.url, OPEN_API + path, body);
      assert.equal((await open('/v1/license/heartbeat', { license: sub })).body.error_code, '92020005');
      assert.equal((await open('/v1/license/activate', { license: sub })).body.error_code, '92020005');
      assert.equal((await open('/v2/license/heartbeat', { license_list: [sub] })).body.data.license_info_list[0].error_code, '92020005');
      assert.equal((await open('/v2/license/activate', { license_list: [sub] })).body.data.license_code_info_list[0].error_code, '92020005');
      const usage = await open('/v2/license/software-usage-info', { usage_info: [{ license: sub, software_usage_Info: [{ active_num: 99_999 }] }] });
      assert.deepEqual(
        usage.body.data.check_fail_list.map((f: { license: string }) => f.license),
        [sub],
      );
      assert.deepEqual(await usageOf(server, code), []);
      // The code itself still answers.
      assert.equal((await open('/v1/license/heartbeat', { license: code })).body.data.status, 'ALIVE');
    });

    it('puts usage reports behind the guessing guard: 30 reports of unknown codes make 20 lookups', async () => {
      const report = (from: string, count: number) =>
        postFrom(from, server.url, `${OPEN_API}/v2/license/software-usage-info`, {
          usage_info: Array.from({ length: count }, () => ({ license: generateAuthorizationCode(), software_usage_Info: [{ id: 'x' }] })),
        });
      const counter = countCodeLookups(server.running.runtime.database.knex);
      try {
        const answers = [];
        for (let i = 0; i < 30; i++) answers.push(await report('127.0.0.12', 1));
        assert.equal(counter.count(), 20);
        assert.equal(answers.filter((a) => a.status === 200 && a.body.data.check_fail_list.length === 1).length, 20);
        assert.equal(answers.filter((a) => a.status === 429 && a.body.error_code === 'APIG.0308').length, 10);
        // A batch of 100 unknown codes from a fresh address stops at the budget too.
        assert.equal((await report('127.0.0.13', 100)).status, 429);
        assert.equal(counter.count(), 40);
      } finally {
        counter.stop();
      }
    });
  });
});

describe('attack: replaying a signed open-API call to another server process on PostgreSQL', function () {
  let db: TestDatabase;
  let servers: ServerProcess[] = [];
  const product = 'replayed';

  before(async function () {
    await skipWithoutPostgres(this);
    db = await createTestDatabase('postgres');
    const env = serverEnv(db, { LICENSOR_OPENAPI_AKSK: AKSK });
    servers = await Promise.all([spawnServer(env), spawnServer(env)]);
    await admin(servers[0]!.url, 'POST', '/v1/admin/products', { name: product });
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await db?.drop();
  });

  it('is refused by the other process', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const code = await issueCode(a, product);
    const request = signedOpenApiRequest('/v1/license/heartbeat', { license: code }, Date.now(), CREDENTIALS);
    assert.equal((await sendOpenApi(a.url, request)).body.error_code, '92020000');
    const replayed = await sendOpenApi(b.url, request);
    assert.equal(replayed.status, 403, replayed.text);
    assert.match(replayed.body.error_msg, /replay/);
    // Not that it refuses everything: a new request (a header of its own makes its signature new) is answered.
    const fresh = signedOpenApiRequest('/v1/license/heartbeat', { license: code }, Date.now(), CREDENTIALS, { 'x-request-id': randomBytes(8).toString('hex') });
    assert.equal((await sendOpenApi(b.url, fresh)).body.error_code, '92020000');
  });
});
