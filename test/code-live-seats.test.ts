import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { releaseCode } from '../src/domain/codes';
import { changeProductPolicy } from '../src/domain/product-policy-change';
import { activateMachine, deactivateMachine } from '../src/domain/seat-allocation';
import { sweep } from '../src/domain/sweeper';
import { openDatabase } from '../src/storage/database';
import { MIGRATIONS } from '../src/storage/migrate';
import { DAY, HOUR } from './support/clock';
import { createTestDatabase, forEachEngine } from './support/databases';
import { aCode, aProduct, machine } from './support/factories';
import { startTestRuntime, type TestRuntime } from './support/harness';

/**
 * An activation reads its code's live seats from the code's row (migration 018) instead of
 * counting them: the count kept there must equal the live activations after every kind of change
 * any writer makes.
 */
forEachEngine("a code's live seats, kept on its row", (engine) => {
  let t: TestRuntime;
  before(async () => {
    t = await startTestRuntime(engine);
  });
  after(async () => t?.close());

  /** Every code whose kept count differs from its live activations (none, when kept right). */
  async function miscounted(): Promise<Array<{ id: string; kept: number; live: number }>> {
    const knex = t.runtime.database.knex;
    const rows = (await knex('codes').select(
      'id',
      'live_seats as kept',
      knex.raw("(SELECT count(*) FROM activations a WHERE a.code_id = codes.id AND a.status = 'active') AS live"),
    )) as Array<{ id: string; kept: number | string; live: number | string }>;
    return rows.map((r) => ({ id: r.id, kept: Number(r.kept), live: Number(r.live) })).filter((r) => r.kept !== r.live);
  }
  const keptOf = async (codeId: string) => Number((await t.runtime.database.knex('codes').where({ id: codeId }).first('live_seats')).live_seats);

  it('follows activations, deactivations, reclaims, releases, the sweeper and policy changes', async () => {
    const ctx = t.runtime.ctx;
    const floating = await aProduct(ctx, { seatMode: 'floating', leaseSeconds: HOUR / 1000 });
    const locked = await aProduct(ctx);
    const a = await aCode(ctx, floating, { seats: 3 });
    const b = await aCode(ctx, locked, { seats: 5 });
    const c = await aCode(ctx, locked, { seats: 2, days: 1 });
    const activate = (code: { code: string }, name: string) => activateMachine(ctx, { code: code.code, fingerprint: machine(name) }, 'client');

    const first = await activate(a, 'a1');
    await activate(a, 'a2');
    await activate(a, 'a3');
    assert.equal(await keptOf(a.id), 3);
    await activate(a, 'a1'); // the same machine gets its own seat back
    assert.equal(await keptOf(a.id), 3);
    await deactivateMachine(ctx, first.activation.id, first.token, 'client');
    assert.equal(await keptOf(a.id), 2);
    await assert.rejects(
      activate(a, 'a4').then(() => activate(a, 'a5')),
      { code: 'seat_limit_reached' },
    );
    assert.equal(await keptOf(a.id), 3);
    for (const name of ['b1', 'b2', 'c1', 'c2']) await activate(name.startsWith('b') ? b : c, name);
    assert.deepEqual(await miscounted(), []);

    // A full floating code reclaims lapsed seats for a new machine; the sweeper culls the rest.
    t.clock.advance(2 * HOUR);
    await activate(a, 'a6');
    assert.equal(await keptOf(a.id), 1);
    await activate(a, 'a7');
    t.clock.advance(2 * HOUR);
    await sweep(ctx, { releaseExpiredAfterMs: null });
    assert.equal(await keptOf(a.id), 0);
    assert.deepEqual(await miscounted(), []);

    // Released by an operator, and released by the sweeper after expiring.
    await releaseCode(ctx, b.id, 'test');
    assert.equal(await keptOf(b.id), 0);
    t.clock.advance(3 * DAY);
    await sweep(ctx, { releaseExpiredAfterMs: DAY });
    assert.equal(await keptOf(c.id), 0);
    assert.deepEqual(await miscounted(), []);

    // Floating to node-locked culls the seats that already lapsed.
    await activate(a, 'a8');
    await activate(a, 'a9');
    t.clock.advance(2 * HOUR);
    await activate(a, 'a10');
    assert.equal(await keptOf(a.id), 3);
    await changeProductPolicy(ctx, floating.name, { seatMode: 'node_locked' }, 'test');
    assert.equal(await keptOf(a.id), 1);
    assert.deepEqual(await miscounted(), []);
  });

  it('moves with activations inserted several in one statement, live or not, on several codes', async () => {
    const product = await aProduct(t.runtime.ctx);
    const [x, y] = [await aCode(t.runtime.ctx, product, { seats: 9 }), await aCode(t.runtime.ctx, product, { seats: 9 })];
    const row = (id: string, codeId: string, status: string) => activationRow(id, codeId, product.id, status, t.clock.now());
    await t.runtime.database
      .knex('activations')
      .insert([row('m1', x.id, 'active'), row('m2', x.id, 'active'), row('m3', x.id, 'deactivated'), row('m4', y.id, 'active')]);
    assert.deepEqual([await keptOf(x.id), await keptOf(y.id)], [2, 1]);
    assert.deepEqual(await miscounted(), []);
  });

  it('is counted from the live activations when the migration adds it to a database in use', async () => {
    const db = await createTestDatabase(engine);
    const database = openDatabase({ databaseUrl: db.databaseUrl, sqliteFile: join(db.dataDir, 'licensor.db') });
    try {
      const names = Object.keys(MIGRATIONS);
      const before = names.slice(0, names.indexOf('018_code_live_seats'));
      for (const name of before) await MIGRATIONS[name]!.up(database.knex);
      const knex = database.knex;
      const now = Date.now();
      await knex('products').insert({
        id: 'p',
        name: 'p',
        seat_mode: 'node_locked',
        lease_seconds: 3600,
        heartbeat_interval_seconds: 600,
        match_strategy: 'fuzzy',
        created_at: now,
      });
      const code = (id: string) => ({
        id,
        product_id: 'p',
        code: `CODE-${id}`,
        status: 'alive',
        seats: 9,
        features: '[]',
        expires_at: now + DAY,
        metadata: '{}',
        test: false,
        revision: 0,
        created_at: now,
        updated_at: now,
      });
      await knex('codes').insert([code('c1'), code('c2')]);
      const activation = (id: string, codeId: string, status: string) => activationRow(id, codeId, 'p', status, now);
      await knex('activations').insert([
        activation('x1', 'c1', 'active'),
        activation('x2', 'c1', 'active'),
        activation('x3', 'c1', 'deactivated'),
        activation('x4', 'c2', 'culled'),
      ]);
      await MIGRATIONS['018_code_live_seats']!.up(knex);
      const kept = await knex('codes').orderBy('id').select('id', 'live_seats');
      assert.deepEqual(
        kept.map((r: { id: string; live_seats: number | string }) => [r.id, Number(r.live_seats)]),
        [
          ['c1', 2],
          ['c2', 0],
        ],
      );
      await MIGRATIONS['018_code_live_seats']!.down(knex);
      assert.ok(!(await knex.schema.hasColumn('codes', 'live_seats')));
    } finally {
      await database.close();
      await db.drop();
    }
  });
});

/** An activation's row as a writer outside the domain inserts it (a seed, an import). */
function activationRow(id: string, codeId: string, productId: string, status: string, now: number) {
  return {
    id,
    code_id: codeId,
    product_id: productId,
    fingerprint: '{}',
    environment: '{}',
    status,
    clone_suspect: false,
    created_at: now,
    last_heartbeat_at: now,
  };
}
