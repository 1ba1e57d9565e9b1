import { strict as assert } from 'node:assert';
import { createTestDatabase, forEachEngine, postgresAvailable, warnPostgresSkipped, type TestDatabase } from './support/databases';
import { admin } from './support/http';
import { serverEnv, spawnServer, type ServerProcess } from './support/processes';
import { receiverVerifies, startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver';

/**
 * Webhooks across real `licensor serve` processes (docs/webhooks.md "Deliveries"): an event
 * committed just before a SIGKILL is delivered after the restart, and two processes sharing a
 * PostgreSQL database deliver each event once between them, in order.
 */

/** Waits for another process to have done something; the bound only turns a hang into a failure. */
async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const issued = (r: WebhookReceiver) => r.received.filter((x) => x.event.type === 'code.issued');

forEachEngine('webhooks across a crash', (engine) => {
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  let server: ServerProcess | undefined;
  before(async () => {
    db = await createTestDatabase(engine);
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await server?.stop();
    await receiver?.close();
    await db?.drop();
  });

  it('delivers, after a restart, the events committed before the server was killed with SIGKILL', async function () {
    this.timeout(90_000);
    // The first server would look for due deliveries only after a minute: it is killed long before.
    server = await spawnServer(serverEnv(db, { LICENSOR_WEBHOOKS_ALLOW_PRIVATE: 'true', LICENSOR_OUTBOX_POLL_MS: '60000' }));
    const { secret } = (await admin(server.url, 'POST', '/v1/admin/webhooks', { url: receiver.url, events: ['code.issued'] })).body;
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'crash' });
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) codes.push((await admin(server.url, 'POST', '/v1/admin/codes', { product: 'crash', seats: 1, days: 30 })).body.code.id);
    server.child.kill('SIGKILL');
    await server.stop();
    assert.equal(receiver.received.length, 0);

    server = await spawnServer(serverEnv(db, { LICENSOR_WEBHOOKS_ALLOW_PRIVATE: 'true', LICENSOR_OUTBOX_POLL_MS: '20' }));
    await until('the five events arrived', () => receiver.received.length >= 5);
    assert.deepEqual(
      receiver.received.map((r) => r.event.codeId),
      codes,
    );
    for (const r of receiver.received) assert.ok(receiverVerifies(secret, r, Math.floor(Date.now() / 1000)));
  });
});

describe('webhooks from two server processes on one PostgreSQL database', () => {
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  let servers: ServerProcess[] = [];
  before(async function () {
    this.timeout(90_000);
    if (!(await postgresAvailable())) {
      warnPostgresSkipped();
      return this.skip();
    }
    db = await createTestDatabase('postgres');
    receiver = await startWebhookReceiver();
    const env = serverEnv(db, { LICENSOR_WEBHOOKS_ALLOW_PRIVATE: 'true', LICENSOR_OUTBOX_POLL_MS: '10' });
    servers = await Promise.all([spawnServer(env), spawnServer(env)]);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await receiver?.close();
    await db?.drop();
  });

  it('delivers each event once between them, one at a time in the order of the deliveries', async function () {
    this.timeout(90_000);
    const [a, b] = servers;
    const { endpoint } = (await admin(a!.url, 'POST', '/v1/admin/webhooks', { url: receiver.url, events: ['code.issued'] })).body;
    await admin(b!.url, 'POST', '/v1/admin/products', { name: 'shared' });
    const EVENTS = 40;
    // Written through both, some at the same moment.
    for (let i = 0; i < EVENTS; i += 2) {
      await Promise.all([0, 1].map((k) => admin(servers[k]!.url, 'POST', '/v1/admin/codes', { product: 'shared', seats: 1, days: 30 })));
    }
    await until('every delivery is marked delivered', async () => {
      const items = (await admin(a!.url, 'GET', `/v1/admin/webhooks/${endpoint.id}/deliveries?limit=500`)).body.items as Array<{ entry: { status: string } }>;
      return items.length === EVENTS && items.every((d) => d.entry.status === 'delivered');
    });
    const ids = issued(receiver).map((r) => r.event.id);
    assert.equal(ids.length, EVENTS, 'each event once');
    assert.equal(new Set(ids).size, EVENTS);
    const deliveryIds = issued(receiver).map((r) => String(r.headers['licensor-delivery-id']));
    assert.deepEqual(deliveryIds, [...deliveryIds].sort(), 'in order');
  });
});
