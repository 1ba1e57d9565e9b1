import { strict as assert } from 'node:assert';
import { skipWithoutPostgres, PG_ADMIN_URL, createTestDatabase, type TestDatabase } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';
import { TcpProxy } from './support/tcp-proxy';

describe('PostgreSQL going away and coming back [postgres]', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let server: TestServer;

  before(async function () {
    await skipWithoutPostgres(this);
    db = await createTestDatabase('postgres');
    const target = new URL(PG_ADMIN_URL);
    proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    const viaProxy = new URL(db.databaseUrl!);
    viaProxy.port = String(proxy.port);
    server = await startTestServer('postgres', { DATABASE_URL: viaProxy.toString() });
  });
  after(async () => {
    await server?.close();
    await proxy?.stop();
    await db?.drop();
  });

  it('answers 503 with Retry-After while the database is gone, recovers by itself, and loses nothing acknowledged', async function () {
    this.timeout(60_000);
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'outage' });
    const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product: 'outage', seats: 5, days: 30 });
    const code = issued.body.code.code;
    const before = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('before-outage') });
    assert.equal(before.status, 201);

    await proxy.cut();
    for (const [method, path, body] of [
      ['POST', '/v1/activations', { code, fingerprint: machine('during-outage') }],
      ['POST', '/v1/heartbeat', { activationId: before.body.activation.id, secret: before.body.activation.secret, fingerprint: machine('before-outage') }],
      ['GET', '/readyz', undefined],
    ] as const) {
      const res = await call(server.url, method, path, body);
      assert.equal(res.status, 503, `${method} ${path}: ${res.text}`);
      assert.ok(Number(res.headers.get('retry-after')) > 0);
      assert.match(res.body.error.code, /database_unavailable/);
    }
    const adminDuring = await admin(server.url, 'GET', `/v1/admin/codes/${code}`);
    assert.equal(adminDuring.status, 503);

    await proxy.restore();
    // Recovery needs no restart: poll readiness a bounded number of times.
    let ready = 0;
    for (let i = 0; i < 50 && ready !== 200; i++) {
      ready = (await call(server.url, 'GET', '/readyz')).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(ready, 200);
    const after = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('after-outage') });
    assert.equal(after.status, 201, after.text);
    const beat = await call(server.url, 'POST', '/v1/heartbeat', {
      activationId: before.body.activation.id,
      secret: before.body.activation.secret,
      fingerprint: machine('before-outage'),
    });
    assert.equal(beat.status, 200, beat.text);
    const activations = await admin(server.url, 'GET', `/v1/admin/codes/${code}/activations`);
    assert.deepEqual(activations.body.items.map((a: { id: string }) => a.id).sort(), [before.body.activation.id, after.body.activation.id].sort());
  });
});
