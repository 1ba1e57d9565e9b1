import { strict as assert } from 'node:assert';
import { DeliveryFailed, owedCall, retryOutboxEntry, type Delivery, type OwedCall } from '../src/domain/outbox';
import type { OutboxEntry } from '../src/domain/types';
import { startOutboxWorker, type OutboxWorker } from '../src/jobs/outbox-worker';
import { createLogger } from '../src/logger';
import { openRuntime, type Runtime } from '../src/runtime';
import { DAY, HOUR, MINUTE, SECOND, TestClock } from './support/clock';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { testConfig } from './support/harness';

const silent = createLogger('silent');
const RETRY = { firstDelayMs: 30 * SECOND, maxDelayMs: HOUR, giveUpAfterMs: 48 * HOUR };
const LEASE_MS = 5 * MINUTE;

/** A delivery of the kind `test.call` that records what it was handed, and fails as told. */
class RecordingDelivery implements Delivery {
  readonly kind = 'test.call';
  readonly log: string[] = [];
  readonly delivered: string[] = [];
  /** Failures still to come, per payload name: a message (retried) or `permanent`. */
  readonly failures = new Map<string, Array<string | 'permanent'>>();

  async deliver(entry: OutboxEntry): Promise<void> {
    const name = String(entry.payload.name);
    this.log.push(`start ${name}`);
    // Give other deliveries of the same run the chance to start: side by side shows here.
    await new Promise((resolve) => setImmediate(resolve));
    const failure = this.failures.get(name)?.shift();
    this.log.push(`end ${name}`);
    if (failure === 'permanent') throw new DeliveryFailed(`${name} refused`, true);
    if (failure !== undefined) throw new DeliveryFailed(failure);
    this.delivered.push(name);
  }
}

forEachEngine('the outbox', (engine) => {
  let db: TestDatabase;
  let clock: TestClock;
  let runtime: Runtime;
  let delivery: RecordingDelivery;
  let worker: OutboxWorker;
  const extra: Runtime[] = [];

  const open = () => openRuntime(testConfig(db), { clock });
  /** A worker that only runs when a test drains it (its timer is an hour away). */
  const startWorker = (on: Runtime, deliveries: Delivery[] = [delivery]) =>
    startOutboxWorker(on.ctx, deliveries, { pollMs: HOUR, leaseMs: LEASE_MS, batch: 10, retry: RETRY, keepDeliveredMs: 30 * DAY }, silent);

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    clock = new TestClock(Date.now());
    runtime = await open();
    delivery = new RecordingDelivery();
    worker = startWorker(runtime);
  });
  afterEach(async () => {
    await worker?.stop();
    for (const other of extra.splice(0)) await other.close();
    await runtime?.close();
    await db?.drop();
  });

  async function owe(name: string, target = 'target-a', key?: string, on: Runtime = runtime): Promise<boolean> {
    const call: OwedCall = { kind: 'test.call', target, key, payload: { name } };
    return on.ctx.repo.transaction((tx) => tx.outbox.enqueue(owedCall(on.ctx, clock.now(), call)));
  }
  const entries = async () => (await runtime.ctx.repo.outbox.list({}, 500, null)).items;
  const entry = async (name: string) => (await entries()).find((e) => e.payload.name === name)!;

  it('delivers an owed call once and keeps it as delivered', async () => {
    await owe('one');
    assert.deepEqual(await worker.drain(), { claimed: 1, delivered: 1, retried: 0, failed: 0 });
    assert.deepEqual(await worker.drain(), { claimed: 0, delivered: 0, retried: 0, failed: 0 });
    assert.deepEqual(delivery.delivered, ['one']);
    const done = await entry('one');
    assert.equal(done.status, 'delivered');
    assert.equal(done.deliveredAt, clock.now());
  });

  it('delivers the entries of one target in the order they were owed, one at a time, and other targets side by side', async () => {
    for (const name of ['a1', 'b1', 'a2', 'a3', 'b2']) await owe(name, name.startsWith('a') ? 'target-a' : 'target-b');
    await worker.drain();
    assert.deepEqual(
      delivery.delivered.filter((n) => n.startsWith('a')),
      ['a1', 'a2', 'a3'],
    );
    assert.deepEqual(
      delivery.delivered.filter((n) => n.startsWith('b')),
      ['b1', 'b2'],
    );
    for (const [earlier, later] of [
      ['a1', 'a2'],
      ['a2', 'a3'],
      ['b1', 'b2'],
    ] as const) {
      assert.ok(delivery.log.indexOf(`end ${earlier}`) < delivery.log.indexOf(`start ${later}`), `${later} waits for ${earlier}`);
    }
    assert.ok(delivery.log.indexOf('start b1') < delivery.log.indexOf('end a1'), 'the heads of two targets go side by side');
  });

  it('owes a call with a key once, however often it is enqueued', async () => {
    assert.equal(await owe('keyed', 'target-a', 'the-key'), true);
    assert.equal(await owe('keyed again', 'target-a', 'the-key'), false);
    await worker.drain();
    assert.deepEqual(delivery.delivered, ['keyed']);
  });

  it('retries a failed delivery after a wait that doubles, and holds the rest of its target meanwhile', async () => {
    delivery.failures.set('flaky', ['the other side answered 503', 'no answer in time']);
    await owe('flaky');
    await owe('after', 'target-a');
    await owe('elsewhere', 'target-b');
    assert.deepEqual(await worker.drain(), { claimed: 2, delivered: 1, retried: 1, failed: 0 });
    let flaky = await entry('flaky');
    assert.equal(flaky.status, 'pending');
    assert.equal(flaky.attempts, 1);
    assert.equal(flaky.lastError, 'the other side answered 503');
    assert.equal(flaky.nextAttemptAt, clock.now() + 30 * SECOND);
    assert.deepEqual(delivery.delivered, ['elsewhere']);

    clock.advance(29 * SECOND);
    assert.equal((await worker.drain()).claimed, 0);
    clock.advance(SECOND);
    await worker.drain();
    flaky = await entry('flaky');
    assert.equal(flaky.attempts, 2);
    assert.equal(flaky.nextAttemptAt, clock.now() + 60 * SECOND);
    clock.advance(60 * SECOND);
    await worker.drain();
    assert.deepEqual(delivery.delivered, ['elsewhere', 'flaky', 'after']);
  });

  it('keeps what is owed across a restart, and delivers it after', async () => {
    delivery.failures.set('survivor', ['down']);
    await owe('survivor');
    await worker.drain();
    await worker.stop();
    await runtime.close();

    runtime = await open();
    worker = startWorker(runtime);
    clock.advance(30 * SECOND);
    await worker.drain();
    assert.deepEqual(delivery.delivered, ['survivor']);
    assert.equal((await entry('survivor')).status, 'delivered');
  });

  it('gives up at once an entry the other side refuses, audits it, and lets an operator retry it', async () => {
    delivery.failures.set('refused', ['permanent']);
    await owe('refused');
    await owe('next', 'target-a');
    assert.deepEqual(await worker.drain(), { claimed: 2, delivered: 1, retried: 0, failed: 1 });
    const failed = await entry('refused');
    assert.equal(failed.status, 'failed');
    assert.equal(failed.lastError, 'refused refused');
    // A failed entry no longer holds up its target.
    assert.deepEqual(delivery.delivered, ['next']);

    const retried = await retryOutboxEntry(runtime.ctx, failed.id, 'test-operator');
    assert.equal(retried.status, 'pending');
    assert.equal(retried.attempts, 0);
    await worker.drain();
    assert.deepEqual(delivery.delivered, ['next', 'refused']);
    const trail = (await runtime.ctx.repo.audit.list({ entityId: failed.id }, 10, null)).items.map((e) => [e.action, e.actor]);
    assert.deepEqual(
      trail.sort(),
      [
        ['outbox.failed', 'outbox'],
        ['outbox.retried', 'test-operator'],
      ].sort(),
    );
    await assert.rejects(retryOutboxEntry(runtime.ctx, failed.id, 'test-operator'), /only a failed entry is retried/);
  });

  it('gives up an entry still undelivered past the give-up time', async () => {
    delivery.failures.set(
      'hopeless',
      Array.from({ length: 100 }, () => 'down'),
    );
    await owe('hopeless');
    for (let i = 0; i < 60 && (await entry('hopeless')).status === 'pending'; i++) {
      await worker.drain();
      clock.advance(HOUR);
    }
    const given = await entry('hopeless');
    assert.equal(given.status, 'failed');
    // Doubling from 30 s, capped at an hour: about 45 attempts fit in 48 hours.
    assert.ok(given.attempts > 10 && given.attempts < 60, String(given.attempts));
    assert.ok(clock.now() - given.createdAt >= 47 * HOUR);
  });

  it('delivers again an entry whose worker died mid-delivery, once its claim has lapsed', async () => {
    await owe('orphan');
    const [claimed] = await runtime.ctx.repo.transaction((tx) => tx.outbox.claim('a-worker-that-died', clock.now(), clock.now() + LEASE_MS, 10));
    assert.equal(claimed?.payload.name, 'orphan');
    assert.equal((await worker.drain()).claimed, 0);
    clock.advance(LEASE_MS);
    await worker.drain();
    assert.deepEqual(delivery.delivered, ['orphan']);
    // The dead worker's late word changes nothing.
    assert.equal(await runtime.ctx.repo.outbox.markDelivered(claimed!.id, 'a-worker-that-died', clock.now()), false);
  });

  it('waits for a process that knows a kind it has no delivery for', async () => {
    await runtime.ctx.repo.transaction((tx) => tx.outbox.enqueue(owedCall(runtime.ctx, clock.now(), { kind: 'test.unknown', target: 't', payload: {} })));
    await worker.drain();
    const [unknown] = (await runtime.ctx.repo.outbox.list({ kind: 'test.unknown' }, 5, null)).items;
    assert.equal(unknown?.status, 'pending');
    assert.match(unknown?.lastError ?? '', /no delivery for the kind "test.unknown"/);
  });

  it('lets workers of several runtimes sharing the database deliver each entry once, in order per target', async function () {
    this.timeout(60_000);
    const others = [await open(), await open()];
    extra.push(...others);
    const workers = [worker, ...others.map((o) => startWorker(o))];
    const names: string[] = [];
    for (let i = 0; i < 60; i++) names.push(`t${i % 6}-${String(i).padStart(2, '0')}`);
    for (const name of names) await owe(name, name.slice(0, 2));
    for (let round = 0; round < 20 && delivery.delivered.length < names.length; round++) await Promise.all(workers.map((w) => w.drain()));
    for (const w of workers.slice(1)) await w.stop();
    assert.deepEqual([...delivery.delivered].sort(), [...names].sort(), 'each entry delivered exactly once');
    for (let t = 0; t < 6; t++) {
      const ofTarget = delivery.delivered.filter((n) => n.startsWith(`t${t}-`));
      assert.deepEqual(ofTarget, [...ofTarget].sort(), `target t${t} in order`);
    }
  });
});
