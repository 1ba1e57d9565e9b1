import { strict as assert } from 'node:assert';
import http from 'node:http';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { machine } from './support/factories';
import { startTestServer } from './support/harness';
import { admin, call } from './support/http';
import { serverEnv, spawnServer } from './support/processes';
import { openDatabase } from '../src/storage/database';

forEachEngine('shutting down on SIGTERM', (engine) => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase(engine);
  });
  after(async () => db?.drop());

  // Beats stay buffered until shutdown: only the SIGTERM flush can write them.
  const env = () => serverEnv(db, { LICENSOR_HEARTBEAT_FLUSH_MS: '60000' });

  it('finishes requests already in flight and writes buffered heartbeats before exiting', async () => {
    const server = await spawnServer(env());
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'bye' });
    const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product: 'bye', seats: 1, days: 30 });
    const activated = await call(server.url, 'POST', '/v1/activations', { code: issued.body.code.code, fingerprint: machine('bye') });
    const { id: activationId, secret } = activated.body.activation;
    const before = Date.now();
    assert.equal((await call(server.url, 'POST', '/v1/heartbeat', { activationId, secret, fingerprint: machine('bye') })).status, 200);

    // 20 requests on open connections, then SIGTERM while they are being served.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    const body = JSON.stringify({ activationId, secret, fingerprint: machine('bye') });
    const inFlight = Array.from(
      { length: 20 },
      () =>
        new Promise<number>((resolve, reject) => {
          const req = http.request(`${server.url}/v1/heartbeat`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          });
          req.on('error', reject);
          req.end(body, () => setImmediate(() => undefined));
        }),
    );
    await new Promise((r) => setTimeout(r, 20));
    const exit = server.stop('SIGTERM');
    const statuses = await Promise.all(inFlight);
    agent.destroy();
    assert.deepEqual(statuses, Array(20).fill(200));
    assert.equal(await exit, 0);

    const database = openDatabase({ databaseUrl: db.databaseUrl, sqliteFile: `${db.dataDir}/licensor.db` });
    try {
      const row = await database.knex('activations').where({ id: activationId }).first();
      assert.ok(Number(row.last_heartbeat_at) >= before, 'the buffered beat was written at shutdown');
    } finally {
      await database.close();
    }
  });
});

describe('draining before shutdown', () => {
  it('turns /readyz to 503 and closes each answered connection while it drains', async () => {
    const server = await startTestServer('sqlite', { LICENSOR_SHUTDOWN_GRACE_MS: '2000' });
    assert.equal((await call(server.url, 'GET', '/readyz')).status, 200);
    const closing = server.close();
    const ready = await call(server.url, 'GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.body.error.code, 'shutting_down');
    assert.equal(ready.headers.get('connection'), 'close');
    assert.equal((await call(server.url, 'GET', '/healthz')).status, 200);
    await closing;
  });
});
