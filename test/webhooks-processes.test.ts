import { strict as assert } from 'node:assert';
import { createTestDatabase, forEachEngine, skipWithoutPostgres, type TestDatabase } from './support/databases';
import { createProduct } from '../src/domain/products';
import { webhookDelivery, type WebhookPost } from '../src/domain/webhook-delivery';
import { registerWebhook } from '../src/domain/webhooks';
import { webhookSender } from '../src/outbound/webhook-sender';
import { startOutboxWorker } from '../src/jobs/outbox-worker';
import { createLogger } from '../src/logger';
import { openRuntime, type Runtime } from '../src/runtime';
import { DAY, HOUR, MINUTE, SECOND, TestClock } from './support/clock';
import { testConfig } from './support/harness';
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
    await skipWithoutPostgres(this);
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

forEachEngine('a webhook delivery whose process died mid-way', (engine) => {
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  const runtimes: Runtime[] = [];
  const clock = new TestClock(Date.now());
  before(async () => {
    db = await createTestDatabase(engine);
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    for (const r of runtimes) await r.close();
    await receiver?.close();
    await db?.drop();
  });

  const LEASE_MS = 5 * MINUTE;
  async function worker(post: WebhookPost) {
    const runtime = await openRuntime(testConfig(db, { LICENSOR_WEBHOOKS_ALLOW_PRIVATE: 'true' }), { clock });
    runtimes.push(runtime);
    const delivery = webhookDelivery(runtime.ctx, { post, disableAfterMs: DAY, disableAfterFailures: 10, keepAttemptsMs: 30 * DAY });
    const silent = createLogger('silent');
    return {
      runtime,
      worker: startOutboxWorker(
        runtime.ctx,
        [delivery],
        {
          pollMs: HOUR,
          leaseMs: LEASE_MS,
          batch: 10,
          retry: { firstDelayMs: 30 * SECOND, maxDelayMs: HOUR, giveUpAfterMs: 2 * DAY },
          keepDeliveredMs: 30 * DAY,
        },
        silent,
      ),
    };
  }

  it('is delivered again by another process once its lease lapses, with the same event id and body', async () => {
    const send = webhookSender({ allowPrivate: true, timeoutMs: 5_000 });
    // The first process sends, the receiver takes it, and the process dies before it can record that.
    const dying = await worker(async (url, headers, body) => {
      await send(url, headers, body);
      return new Promise<never>(() => undefined);
    });
    const { ctx } = dying.runtime;
    await registerWebhook(ctx, { url: receiver.url, events: ['product.created'] }, 'test', { check: async () => undefined });
    await createProduct(ctx, { name: 'died-mid-way' }, 'test');
    void dying.worker.runOnce();
    await until('the receiver took the first send', () => receiver.received.length === 1);

    const survivor = await worker(send);
    assert.equal((await survivor.worker.runOnce()).claimed, 0, 'not while the first claim holds');
    clock.advance(LEASE_MS + SECOND);
    assert.equal((await survivor.worker.drain()).delivered, 1);
    assert.equal(receiver.received.length, 2);
    assert.equal(receiver.received[1]!.event.id, receiver.received[0]!.event.id);
    assert.equal(receiver.received[1]!.body, receiver.received[0]!.body);
  });
});
