import { strict as assert } from 'node:assert';
import { codeHint, normalizeAuthorizationCode } from '../src/domain/authorization-code';
import { signApigRequest } from '@licensor/client/contract';
import { startServer, type RunningServer } from '../src/server';
import { TestClock } from './support/clock';
import { createTestDatabase, type TestDatabase } from './support/databases';
import { machine } from './support/factories';
import { ADMIN_TOKEN, captureLogger, testConfig } from './support/harness';
import { call, type Answer } from './support/http';
import { compact, MARKETPLACE_KEY, marketplaceEnv, mkpId, produce, ROTATED_KEY } from './support/marketplace';

const DEVICE_FINGERPRINT = 'AA:BB:CC:DD:EE:FF|DISK-SERIAL-123|BOARD-456|CPU-789';
const OPEN_API_AK = 'logs-open-api-ak';
const OPEN_API_SK = 'logs-open-api-secret-key-0123';

interface Run {
  db: TestDatabase;
  running: RunningServer;
  lines: string[];
  close(): Promise<void>;
}

async function serverWithLogs(level: string): Promise<Run> {
  const db = await createTestDatabase('sqlite');
  const { logger, lines } = captureLogger(level);
  const running = await startServer(
    testConfig(db, { ...marketplaceEnv('mkp-logs', { LICENSOR_OPENAPI_AKSK: `${OPEN_API_AK}:${OPEN_API_SK}` }), LICENSOR_LOG_LEVEL: level }),
    logger,
    {
      clock: new TestClock(Date.now()),
    },
  );
  return {
    db,
    running,
    lines,
    async close() {
      await running.close();
      await db.drop();
    },
  };
}

const accessLines = (lines: string[]) => lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');

describe('logs', () => {
  describe('a full run, logged at debug', () => {
    let run: Run;
    /** Every secret the run handled, to look for in the log afterwards. */
    const secrets = new Map<string, string>();
    const answers: Answer[] = [];
    let code = '';

    const note = (what: string, value: unknown) => {
      if (typeof value === 'string' && value.length >= 8) secrets.set(value, what);
    };
    const noteToken = (what: string, token: unknown) => {
      if (typeof token !== 'string') return;
      note(what, token);
      const [header, payload, signature] = token.split('.');
      note(`${what} (signature)`, signature);
      note(`${what} (signed part)`, `${header}.${payload}`);
    };
    const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const answer = await call(run.running.url, method, path, body, headers);
      answers.push(answer);
      note('an answer signature', answer.headers.get('licensor-signature')?.split('signature=')[1]);
      return answer;
    };
    const asAdmin = (method: string, path: string, body?: unknown) => send(method, path, body, { authorization: `Bearer ${ADMIN_TOKEN}` });
    /** The private halves the database holds now: a retired key's is dropped at rotation, so note it before. */
    const noteKeys = async () => {
      for (const key of await run.running.runtime.ctx.repo.keys.list()) {
        if (key.privateKeyPem === null) continue;
        note('a private key', key.privateKeyPem);
        for (const line of key.privateKeyPem.split('\n')) if (line.length >= 20 && !line.startsWith('-----')) note('a line of a private key', line);
        note('a private key scalar', (key.publicJwk as { d?: string }).d);
      }
    };

    before(async () => {
      run = await serverWithLogs('debug');
      note('the admin token', ADMIN_TOKEN);
      note('a marketplace access key', MARKETPLACE_KEY);
      note('a marketplace access key', ROTATED_KEY);

      await asAdmin('POST', '/v1/admin/products', { name: 'logged' });
      await asAdmin('POST', '/v1/admin/products', { name: 'mkp-logs' });
      const issued = await asAdmin('POST', '/v1/admin/codes', { product: 'logged', seats: 1, days: 30 });
      code = issued.body.code.code;
      note('the code', code);
      note('the code', normalizeAuthorizationCode(code));
      note('the code', code.toLowerCase());

      const activated = await send('POST', '/v1/activations', { code: code.toLowerCase(), fingerprint: machine('laptop') });
      assert.equal(activated.status, 201, activated.text);
      noteToken('a lease token', activated.body.token);
      const id = activated.body.activation.id;
      const secret = activated.body.activation.secret;
      note('an activation secret', secret);
      const beat = await send('POST', '/v1/heartbeat', { activationId: id, secret, fingerprint: machine('laptop') });
      noteToken('a lease token', beat.body.token);
      await asAdmin('GET', `/v1/admin/codes/${code}`);
      await asAdmin('GET', `/v1/admin/codes/${code}/activations`);
      await asAdmin('GET', `/v1/admin/audit?code=${code}`);
      await asAdmin('POST', `/v1/admin/codes/${code}/freeze`);
      await send('POST', '/v1/heartbeat', { activationId: id, secret, fingerprint: machine('laptop') });
      await asAdmin('POST', `/v1/admin/codes/${code}/unfreeze`);
      await send('DELETE', `/v1/activations/${id}`, undefined, { authorization: `Bearer ${activated.body.token}` });
      await noteKeys();
      const rotated = await asAdmin('POST', '/v1/admin/keys/rotate');
      assert.equal(rotated.status, 201);

      // The marketplace: a new instance, its license for a device, a query that shows the code.
      const now = run.running.runtime.ctx.clock.now();
      const orderId = mkpId('O');
      const created = await produce(run.running.url, { activity: 'newInstance', orderId, orderLineId: `${orderId}-1`, businessId: mkpId('B') }, { now });
      note('a production-interface signature', new URL(created.sent.url).searchParams.get('signature'));
      note('a Body-Sign signature', created.bodySign?.split('signature="')[1]?.replace(/"$/, ''));
      const instanceId = created.body.instanceId;
      const delivered = await produce(
        run.running.url,
        { activity: 'getLicenseAsync', instanceId, effectiveTime: compact(now), eventId: mkpId('E'), deviceFingerprint: DEVICE_FINGERPRINT },
        { now },
      );
      assert.equal(delivered.body.resultCode, '000000', JSON.stringify(delivered.body));
      noteToken('a marketplace license token', delivered.body.license);
      const queried = await produce(run.running.url, { activity: 'queryInstance', instanceId }, { now });
      const instanceCode: string = queried.body.info[0].licenseCode;
      note('a marketplace code', instanceCode);
      note('a marketplace code', normalizeAuthorizationCode(instanceCode));
      await produce(run.running.url, { activity: 'updateLicenseCodeStatus', license: instanceCode, status: 'FREEZE' }, { now });
      note('an open-API secret key', OPEN_API_SK);
      const openApiPath = '/api/mkp-openapi-public/global/v1/license/heartbeat';
      const openApiBody = JSON.stringify({ license: instanceCode });
      const signing = signApigRequest(
        {
          method: 'POST',
          path: openApiPath,
          query: '',
          body: Buffer.from(openApiBody),
          headers: { host: new URL(run.running.url).host, 'content-type': 'application/json' },
        },
        { accessKey: OPEN_API_AK, secretKey: OPEN_API_SK },
        now,
      );
      note('an open-API signature', /Signature=(\w+)/.exec(signing.Authorization)?.[1]);
      const queried2 = await send('POST', openApiPath, openApiBody, signing);
      assert.equal(queried2.body.error_code, '92020000', queried2.text);

      // Failures: an unknown code, a wrong admin token, a beat for the ended seat, a body that is not JSON, a forged callback.
      await send('POST', '/v1/activations', { code: 'ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZ1', fingerprint: machine('x') });
      note('a wrong admin token', 'wrong-admin-token-0123456789');
      await send('GET', '/v1/admin/codes', undefined, { authorization: 'Bearer wrong-admin-token-0123456789' });
      await send('POST', '/v1/heartbeat', { activationId: id, secret, fingerprint: machine('stranger') });
      await send('POST', '/v1/activations', `{"code":"${code}", "fingerprint":`);
      await produce(run.running.url, { activity: 'releaseLicenseCode', license: instanceCode }, { now, signature: 'forged-signature-0123456789' });
      note('a forged signature', 'forged-signature-0123456789');

      await noteKeys();
    });
    after(() => run.close());

    it('logged something for every request', () => {
      assert.ok(run.lines.length >= answers.length, `${run.lines.length} lines`);
    });

    it('contains no authorization code, token, key or signature anywhere', () => {
      const log = run.lines.join('\n');
      assert.ok(secrets.size >= 15, `only ${secrets.size} secrets collected`);
      for (const [secret, what] of secrets) assert.ok(!log.includes(secret), `the log contains ${what}`);
      // Nor anything shaped like a token, a PEM block or a whole code, whatever its origin.
      assert.doesNotMatch(log, /eyJ[\w-]+\.[\w-]+\.[\w-]+/, 'a JWS in the log');
      assert.doesNotMatch(log, /PRIVATE KEY/);
      assert.doesNotMatch(log, /\b[0-9A-HJKMNP-TV-Z]{5}(-?[0-9A-HJKMNP-TV-Z]{5}){4}\b/i, 'a whole code in the log');
      assert.doesNotMatch(log, /DISK-SERIAL-123/, 'a raw device fingerprint in the log');
    });

    it('writes one access line per request, carrying the X-Request-Id the client saw', () => {
      const byId = new Map<string, number>();
      for (const line of accessLines(run.lines)) byId.set(line.requestId, (byId.get(line.requestId) ?? 0) + 1);
      for (const answer of answers) assert.equal(byId.get(answer.headers.get('x-request-id')!), 1, `request ${answer.headers.get('x-request-id')}`);
    });

    it('names the route pattern, the status, the time taken, and the code only as its hint', () => {
      const activation = accessLines(run.lines).find((l) => l.route === '/v1/activations' && l.status === 201);
      assert.ok(activation);
      assert.equal(activation.method, 'POST');
      assert.equal(typeof activation.ms, 'number');
      assert.equal(activation.code, codeHint(normalizeAuthorizationCode(code)));
      const adminShow = accessLines(run.lines).find((l) => l.route === '/v1/admin/codes/:code' && l.method === 'GET');
      assert.equal(adminShow.code, codeHint(normalizeAuthorizationCode(code)));
    });

    it('says why a request failed with its stable code, and what a marketplace callback was', () => {
      const lines = accessLines(run.lines);
      assert.ok(lines.some((l) => l.route === '/v1/activations' && l.status === 404 && l.error === 'code_not_found'));
      assert.ok(lines.some((l) => l.status === 401 && l.error === 'admin_token_required'));
      assert.ok(lines.some((l) => l.route === '/v1/heartbeat' && l.status === 409 && l.error === 'activation_ended'));
      assert.ok(lines.some((l) => l.activity === 'getLicenseAsync' && l.resultCode === '000000'));
      assert.ok(lines.some((l) => l.resultCode === '000001'));
    });
  });

  describe('at info level', () => {
    let run: Run;
    before(async () => {
      run = await serverWithLogs('info');
    });
    after(() => run.close());

    it('leaves successful heartbeats and probes to debug, and keeps refused heartbeats', async () => {
      await call(run.running.url, 'POST', '/v1/admin/products', { name: 'quiet' }, { authorization: `Bearer ${ADMIN_TOKEN}` });
      const code = (
        await call(run.running.url, 'POST', '/v1/admin/codes', { product: 'quiet', seats: 1, days: 30 }, { authorization: `Bearer ${ADMIN_TOKEN}` })
      ).body.code.code;
      const { id, secret } = (await call(run.running.url, 'POST', '/v1/activations', { code, fingerprint: machine('q') })).body.activation;
      for (let i = 0; i < 3; i++) await call(run.running.url, 'POST', '/v1/heartbeat', { activationId: id, secret, fingerprint: machine('q') });
      await call(run.running.url, 'POST', '/v1/heartbeat', { activationId: id, secret, fingerprint: machine('other') });
      await call(run.running.url, 'GET', '/healthz');
      await call(run.running.url, 'GET', '/readyz');
      const lines = accessLines(run.lines);
      assert.deepEqual(
        lines.filter((l) => l.route === '/v1/heartbeat').map((l) => l.status),
        [403],
      );
      assert.equal(lines.filter((l) => l.route === '/healthz' || l.route === '/readyz').length, 0);
      assert.ok(lines.some((l) => l.route === '/v1/activations' && l.status === 201));
    });
  });
});
