import { strict as assert } from 'node:assert';
import type { Knex } from 'knex';
import { seed } from '../bench/seed';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { machine } from './support/factories';
import { admin, call } from './support/http';
import { marketplaceEnv, mkpId, openSideConnection, produce, replay, signedRequest } from './support/marketplace';
import { serverEnv, spawnServer, type ServerProcess } from './support/processes';

/** Enough due codes that one sweep takes several of the sweeper's 1 s ticks. */
const DUE_CODES = 20_000;

interface SweepLine {
  server: number;
  expired: number;
  /** When the sweep started and ended, from the line's time and its duration. */
  from: number;
  to: number;
}

/** The sweeps a server logged (`{ sweep, ms }` at info level, one JSON line each). */
function sweepsOf(server: ServerProcess, index: number): SweepLine[] {
  return server
    .stdout()
    .split('\n')
    .filter((line) => line.includes('"sweep"'))
    .map((line) => JSON.parse(line) as { time: number; ms: number; sweep: { expired: number } })
    .map((l) => ({ server: index, expired: l.sweep.expired, from: l.time - l.ms, to: l.time }));
}

forEachEngine('two server processes under mixed load', (engine) => {
  let db: TestDatabase;
  let side: Knex;
  let servers: ServerProcess[] = [];
  const product = `mixed-${engine}`;

  before(async function () {
    this.timeout(90_000);
    db = await createTestDatabase(engine);
    const env = serverEnv(db, { ...marketplaceEnv(product), LICENSOR_SWEEP_INTERVAL_SECONDS: '1', LICENSOR_LOG_LEVEL: 'info' });
    servers = await Promise.all([spawnServer(env), spawnServer(env)]);
    side = openSideConnection(db);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await side?.destroy();
    await db?.drop();
  });

  it('hold seat limits, idempotency and replay protection, and expire every due code exactly once', async function () {
    this.timeout(120_000);
    const at = (i: number) => servers[i % 2]!.url;
    assert.equal((await admin(at(0), 'POST', '/v1/admin/products', { name: product })).status, 201);

    // Eight machines that will beat through both processes all along.
    const fleet = (await admin(at(1), 'POST', '/v1/admin/codes', { product, seats: 8, days: 30 })).body.code.code;
    const beating = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const res = await call(at(i), 'POST', '/v1/activations', { code: fleet, fingerprint: machine(`fleet-${i}`) });
        assert.equal(res.status, 201, res.text);
        return { id: res.body.activation.id as string, secret: res.body.activation.secret as string, fingerprint: machine(`fleet-${i}`) };
      }),
    );
    const race = (await admin(at(0), 'POST', '/v1/admin/codes', { product, seats: 5, days: 30 })).body.code.code;

    // Codes (of a product of their own) that fall due all at once, in one statement, once the load is running.
    const seeded = await seed(side, DUE_CODES, { productName: `${product}-due`, keep: 0 });
    const makeDue = () =>
      side('codes')
        .where({ product_id: seeded.productId, status: 'alive' })
        .update({ expires_at: Date.now() - 1000 });

    const beats: number[] = [];
    const heartbeats = (async () => {
      for (let round = 0; round < 25; round++) {
        const answers = await Promise.all(
          beating.map((m, i) => call(at(round + i), 'POST', '/v1/heartbeat', { activationId: m.id, secret: m.secret, fingerprint: m.fingerprint })),
        );
        beats.push(...answers.map((a) => a.status));
      }
    })();
    const activations = Promise.all(
      Array.from({ length: 40 }, (_, i) => call(at(i), 'POST', '/v1/activations', { code: race, fingerprint: machine(`racer-${i}`) })),
    );
    const sameMachine = Promise.all(
      Array.from({ length: 10 }, (_, i) => call(at(i), 'POST', '/v1/activations', { code: race, fingerprint: machine('racer-0') })),
    );
    const orderId = mkpId('ORDER');
    const orders = Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        produce(at(i), { activity: 'newInstance', orderId, orderLineId: 'L1', businessId: mkpId('BIZ') }, { now: Date.now() }),
      ),
    );
    const replays = Promise.all(
      Array.from({ length: 10 }, async () => {
        const request = signedRequest(at(0), { activity: 'queryInstance', instanceId: 'none' }, { now: Date.now() });
        const both = await Promise.all([replay(request, at(0)), replay(request, at(1))]);
        return both.map((a) => a.body.resultCode as string).sort();
      }),
    );
    await makeDue();

    const [raced, same, ordered, replayed] = await Promise.all([activations, sameMachine, orders, replays, heartbeats]);

    // Seats: exactly 5 of the racers (one machine retrying itself is one racer, whichever process it reached).
    const seatsTaken = new Set([...raced, ...same].filter((a) => a.status === 200 || a.status === 201).map((a) => a.body.activation.id));
    assert.equal(seatsTaken.size, 5, [...raced, ...same].map((a) => a.status).join(','));
    for (const a of [...raced, ...same]) assert.ok([200, 201, 409].includes(a.status), a.text);
    assert.equal(
      (await admin(at(0), 'GET', `/v1/admin/codes/${race}/activations`)).body.items.filter((a: { status: string }) => a.status === 'active').length,
      5,
    );
    // Idempotency: thirty retries of one order line are one instance.
    for (const answer of ordered) assert.equal(answer.body.resultCode, '000000', answer.bytes.toString());
    assert.equal(new Set(ordered.map((a) => a.body.instanceId)).size, 1);
    assert.equal((await side('marketplace_instances').where({ order_id: orderId })).length, 1);
    // Replay protection: each request sent to both processes at once is accepted by exactly one.
    for (const codes of replayed) assert.deepEqual(codes, ['000001', '000003']);
    // The fleet kept beating through all of it.
    assert.deepEqual([...new Set(beats)], [200]);
    assert.equal(beats.length, 25 * 8);

    // Every due code is expired exactly once, whichever process swept it.
    const deadline = Date.now() + 60_000;
    const stillDue = async () => Number((await side('codes').where({ product_id: seeded.productId, status: 'alive' }).count({ n: '*' }))[0]!.n);
    while ((await stillDue()) > 0) {
      assert.ok(Date.now() < deadline, `${await stillDue()} codes still due after 60 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const events = await side('audit_events')
      .where({ action: 'code.expired' })
      .whereIn('code_id', side('codes').select('id').where({ product_id: seeded.productId }))
      .select('code_id')
      .count({ n: '*' })
      .groupBy('code_id');
    assert.equal(events.length, DUE_CODES);
    assert.deepEqual([...new Set(events.map((e) => Number(e.n)))], [1]);

    // The log agrees: the sweeps together expired every code once. A sweep logs when it is
    // done, after its last batch (culling and sampling follow): wait for the lines.
    const logged = () => servers.flatMap((s, i) => sweepsOf(s, i));
    while (logged().reduce((sum, s) => sum + s.expired, 0) < DUE_CODES && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 100));
    const sweeps = logged();
    assert.equal(
      sweeps.reduce((sum, s) => sum + s.expired, 0),
      DUE_CODES,
      JSON.stringify(sweeps),
    );
    // No sweep failed half-way: on SQLite, one that read before it wrote was refused outright
    // whenever the other process had committed meanwhile ("sweep failed; will retry").
    // (Other warnings are expected: the two processes start together and wait out each other's migration lock.)
    assert.deepEqual(
      servers.flatMap((s) =>
        s
          .stdout()
          .split('\n')
          .filter((l) => l.includes('sweep failed')),
      ),
      [],
    );
    if (engine === 'postgres') {
      // One sweeper at a time (an advisory lock): no two sweeps of different processes overlap,
      // although both processes' 1 s timers tick, started together, while the codes fall due.
      for (const a of sweeps) {
        for (const b of sweeps) {
          if (a.server < b.server) assert.ok(a.to <= b.from || b.to <= a.from, `sweeps overlap: ${JSON.stringify([a, b])}`);
        }
      }
    }
  });
});
