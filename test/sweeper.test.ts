import { strict as assert } from 'node:assert';
import { Client } from 'pg';
import { getCode } from '../src/domain/codes';
import { activateMachine, deactivateMachine } from '../src/domain/seat-allocation';
import { sweep } from '../src/domain/sweeper';
import { DAY } from './support/clock';
import { forEachEngine } from './support/databases';
import { aCode, aProduct, machine } from './support/factories';
import { startTestRuntime, type TestRuntime } from './support/harness';

forEachEngine('the sweeper', (engine) => {
  let t: TestRuntime;
  before(async () => {
    t = await startTestRuntime(engine);
  });
  after(async () => t?.close());

  it('expires many due codes in batches, each with its audit event', async () => {
    const ctx = t.runtime.ctx;
    const product = await aProduct(ctx);
    const codes = [];
    for (let i = 0; i < 25; i++) codes.push(await aCode(ctx, product, { days: 1 }));
    const keeper = await aCode(ctx, product, { days: 10 });
    t.clock.advance(2 * DAY);
    const report = await sweep(ctx, { releaseExpiredAfterMs: null, batchSize: 10 });
    assert.equal(report.expired, 25);
    for (const c of codes) assert.equal((await getCode(ctx, c.id)).status, 'expired');
    assert.equal((await getCode(ctx, keeper.id)).status, 'issued');
    const events = await ctx.repo.audit.list({ action: 'code.expired' }, 100, null);
    assert.equal(events.items.length, 25);
    assert.ok(events.items.every((e) => e.actor === 'sweeper'));
    assert.deepEqual(new Set(events.items.map((e) => e.codeId)), new Set(codes.map((c) => c.id)));
    for (const e of events.items) {
      assert.deepEqual([e.before, e.after], [{ status: 'issued' }, { status: 'expired' }]);
      // Made in SQL, in the same shape as every other id: a UUIDv7 of the event's own time.
      assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(parseInt(e.id.replace(/-/g, '').slice(0, 12), 16), e.at);
    }
    assert.equal(new Set(events.items.map((e) => e.id)).size, 25);
  });

  it('with batches side by side, still expires each due code exactly once, with one audit event', async () => {
    const ctx = t.runtime.ctx;
    const product = await aProduct(ctx);
    const codes = [];
    for (let i = 0; i < 40; i++) codes.push(await aCode(ctx, product, { days: 1 }));
    t.clock.advance(2 * DAY);
    const report = await sweep(ctx, { releaseExpiredAfterMs: null, batchSize: 3, parallelBatches: 4 });
    assert.equal(report.expired, 40);
    for (const c of codes) assert.equal((await getCode(ctx, c.id)).status, 'expired');
    const ids = new Set(codes.map((c) => c.id));
    const events = (await ctx.repo.audit.list({ action: 'code.expired' }, 1000, null)).items.filter((e) => ids.has(e.codeId!));
    assert.deepEqual(events.map((e) => e.codeId).sort(), [...ids].sort());
  });

  it('releases codes expired past the retention in batches side by side, ending their seats, each audited once', async () => {
    const ctx = t.runtime.ctx;
    const product = await aProduct(ctx);
    const old: Array<{ code: { id: string }; seats: string[] }> = [];
    for (let i = 0; i < 7; i++) {
      const code = await aCode(ctx, product, { days: 1, seats: 3 });
      const seats: string[] = [];
      for (let m = 0; m < 2; m++) seats.push((await activateMachine(ctx, { code: code.code, fingerprint: machine(`${code.id}-${m}`) }, 'test')).activation.id);
      old.push({ code, seats });
    }
    // A seat that had already ended is not ended, nor audited, again.
    await deactivateMachine(ctx, old[0]!.seats[1]!, null, 'test');
    t.clock.advance(2 * DAY);
    await sweep(ctx, { releaseExpiredAfterMs: null });
    const recent = await aCode(ctx, product, { days: 1 });
    const recentSeat = (await activateMachine(ctx, { code: recent.code, fingerprint: machine(`${recent.id}-0`) }, 'test')).activation.id;
    t.clock.advance(29.5 * DAY);

    const report = await sweep(ctx, { releaseExpiredAfterMs: 30 * DAY, batchSize: 3, parallelBatches: 2 });
    assert.ok(report.released >= 7, `released ${report.released}`);
    for (const { code, seats } of old) {
      assert.equal((await getCode(ctx, code.id)).status, 'released');
      assert.deepEqual(await ctx.repo.activations.listByCode(code.id, 'active'), []);
      const events = (await ctx.repo.audit.list({ codeId: code.id }, 100, null)).items.filter((e) => e.action.endsWith('.released'));
      const ended = code === old[0]!.code ? seats.slice(0, 1) : seats;
      assert.deepEqual(
        events.map((e) => [e.action, e.entityId, e.actor, e.before, e.after]).sort(),
        [
          ['code.released', code.id, 'sweeper', { status: 'expired' }, { status: 'released' }],
          ...ended.map((id) => ['activation.released', id, 'sweeper', null, null]),
        ].sort(),
      );
      for (const id of ended) assert.equal((await ctx.repo.activations.findById(id))?.endedAt, t.clock.now());
    }
    // Expired, but not yet for 30 days: kept, with its seat.
    assert.equal((await getCode(ctx, recent.id)).status, 'expired');
    assert.equal((await ctx.repo.activations.findById(recentSeat))?.status, 'active');
    assert.equal((await sweep(ctx, { releaseExpiredAfterMs: 30 * DAY })).released, 0);
  });

  it('finds nothing to do on a second run', async () => {
    const report = await sweep(t.runtime.ctx, { releaseExpiredAfterMs: null });
    assert.deepEqual(report, { expired: 0, culled: 0, released: 0, ran: true });
  });

  it('does not start a second run while one is running in this process', async () => {
    const [a, b] = await Promise.all([
      sweep(t.runtime.ctx, { releaseExpiredAfterMs: null }),
      sweep(t.runtime.ctx, { releaseExpiredAfterMs: null }),
    ]);
    assert.deepEqual([a.ran, b.ran].sort(), [false, true]);
  });

  if (engine === 'postgres') {
    it('runs its expiry batches side by side, on connections of their own', async () => {
      const ctx = t.runtime.ctx;
      const product = await aProduct(ctx);
      for (let i = 0; i < 12; i++) await aCode(ctx, product, { days: 1 });
      t.clock.advance(2 * DAY);
      // Each batch's transaction notes its backend, when it began and when its update ended; the
      // pause makes batches that can overlap do so.
      const db = new Client({ connectionString: t.db.databaseUrl });
      await db.connect();
      try {
        await db.query('CREATE TABLE expiry_batches (pid int, began timestamptz, ended timestamptz)');
        await db.query(`CREATE FUNCTION note_expiry_batch() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN PERFORM pg_sleep(0.2); INSERT INTO expiry_batches VALUES (pg_backend_pid(), now(), clock_timestamp()); RETURN NULL; END $$`);
        await db.query('CREATE TRIGGER note_expiry_batch AFTER UPDATE ON codes FOR EACH STATEMENT EXECUTE FUNCTION note_expiry_batch()');
        const report = await sweep(ctx, { releaseExpiredAfterMs: null, batchSize: 3, parallelBatches: 2 });
        assert.equal(report.expired, 12);
        const { rows } = await db.query<{ pid: number; began: Date; ended: Date }>('SELECT * FROM expiry_batches');
        assert.ok(new Set(rows.map((r) => r.pid)).size >= 2, 'batches ran on two connections');
        const overlapping = rows.some((a) => rows.some((b) => a !== b && a.began < b.ended && b.began < a.ended));
        assert.ok(overlapping, 'two batches were open at the same time');
      } finally {
        await db.query('DROP TRIGGER IF EXISTS note_expiry_batch ON codes');
        await db.query('DROP TABLE IF EXISTS expiry_batches');
        await db.end();
      }
    });

    it('stands aside while another process holds the sweeper lock', async () => {
      const other = new Client({ connectionString: t.db.databaseUrl });
      await other.connect();
      try {
        await other.query("SELECT pg_advisory_lock(hashtext('licensor:sweeper'))");
        const report = await sweep(t.runtime.ctx, { releaseExpiredAfterMs: null });
        assert.equal(report.ran, false);
        await other.query("SELECT pg_advisory_unlock(hashtext('licensor:sweeper'))");
        assert.equal((await sweep(t.runtime.ctx, { releaseExpiredAfterMs: null })).ran, true);
      } finally {
        await other.end();
      }
    });
  }
});
