import { strict as assert } from 'node:assert';
import { Client } from 'pg';
import { getCode } from '../src/domain/codes';
import { activateMachine, deactivateMachine } from '../src/domain/seat-allocation';
import { FULL_PASS_EVERY_MS, sweep, SWEEP_OVERLAP_MS } from '../src/domain/sweeper';
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

  it('expires codes that share one date across several batches, each exactly once', async () => {
    const ctx = t.runtime.ctx;
    const product = await aProduct(ctx);
    const codes = [];
    for (let i = 0; i < 40; i++) codes.push(await aCode(ctx, product, { days: 1 }));
    // One date for all: the batches' place in date order falls inside it, and goes on by id.
    await t.runtime.database
      .knex('codes')
      .whereIn(
        'id',
        codes.map((c) => c.id),
      )
      .update({ expires_at: t.clock.now() + DAY });
    t.clock.advance(2 * DAY);
    const report = await sweep(ctx, { releaseExpiredAfterMs: null, batchSize: 3 });
    assert.equal(report.expired, 40);
    for (const c of codes) assert.equal((await getCode(ctx, c.id)).status, 'expired');
    const ids = new Set(codes.map((c) => c.id));
    const events = (await ctx.repo.audit.list({ action: 'code.expired' }, 1000, null)).items.filter((e) => ids.has(e.codeId!));
    assert.deepEqual(events.map((e) => e.codeId).sort(), [...ids].sort());
  });

  it('reads the dates since its last run, from a little before, and all of them again a day after its last full pass', async () => {
    const ctx = t.runtime.ctx;
    const knex = t.runtime.database.knex;
    const progress = () => ctx.repo.sweeperProgress.read();
    t.clock.advance(FULL_PASS_EVERY_MS);
    await sweep(ctx, { releaseExpiredAfterMs: null });
    assert.deepEqual(await progress(), { expiredThrough: t.clock.now(), releasedThrough: null, fullPassAt: t.clock.now() });
    const product = await aProduct(ctx);
    const due = await aCode(ctx, product, { days: 1 });
    // Written past their dates behind the writers' rules (plain SQL): one inside the overlap with
    // the last run, one before it.
    const lateWrite = await aCode(ctx, product, { days: 1 });
    const handEdited = await aCode(ctx, product, { days: 1 });
    const lastRun = (await progress()).expiredThrough!;
    await knex('codes')
      .where({ id: due.id })
      .update({ expires_at: lastRun + 3600_000 });
    await knex('codes')
      .where({ id: lateWrite.id })
      .update({ expires_at: lastRun - SWEEP_OVERLAP_MS + 1000 });
    await knex('codes')
      .where({ id: handEdited.id })
      .update({ expires_at: lastRun - SWEEP_OVERLAP_MS - 1000 });
    t.clock.advance(2 * 3600_000);

    assert.equal((await sweep(ctx, { releaseExpiredAfterMs: null })).expired, 2);
    assert.equal((await getCode(ctx, due.id)).status, 'expired');
    assert.equal((await getCode(ctx, lateWrite.id)).status, 'expired');
    assert.equal((await getCode(ctx, handEdited.id)).status, 'issued');
    assert.deepEqual(await progress(), { expiredThrough: t.clock.now(), releasedThrough: null, fullPassAt: lastRun });

    t.clock.advance(FULL_PASS_EVERY_MS - 2 * 3600_000);
    assert.equal((await sweep(ctx, { releaseExpiredAfterMs: null })).expired, 1);
    assert.equal((await getCode(ctx, handEdited.id)).status, 'expired');
    assert.equal((await progress()).fullPassAt, t.clock.now());
  });

  it('keeps its progress when a run fails, so the next run starts where the last finished one ended', async () => {
    const ctx = t.runtime.ctx;
    await sweep(ctx, { releaseExpiredAfterMs: null });
    const kept = await ctx.repo.sweeperProgress.read();
    const product = await aProduct(ctx);
    const code = await aCode(ctx, product, { days: 1 });
    t.clock.advance(2 * DAY);
    // The expiry moves its batch, then the run fails: the progress stays as it was.
    const broken = { ...ctx, repo: Object.create(ctx.repo, { churn: { value: { pruneBefore: () => Promise.reject(new Error('database went away')) } } }) };
    await assert.rejects(sweep(broken, { releaseExpiredAfterMs: null }), /database went away/);
    assert.deepEqual(await ctx.repo.sweeperProgress.read(), kept);
    assert.equal((await getCode(ctx, code.id)).status, 'expired');
  });

  it('releases codes expired past the retention in batches, ending their seats, each audited once', async () => {
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

    const report = await sweep(ctx, { releaseExpiredAfterMs: 30 * DAY, batchSize: 3 });
    assert.ok(report.released >= 7, `released ${report.released}`);
    // The next run reads release dates from there (less the overlap).
    assert.equal((await ctx.repo.sweeperProgress.read()).releasedThrough, t.clock.now() - 30 * DAY);
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
    const [a, b] = await Promise.all([sweep(t.runtime.ctx, { releaseExpiredAfterMs: null }), sweep(t.runtime.ctx, { releaseExpiredAfterMs: null })]);
    assert.deepEqual([a.ran, b.ran].sort(), [false, true]);
  });

  if (engine === 'postgres') {
    it('waits for a code another transaction holds, then expires it only if it is still due', async () => {
      const ctx = t.runtime.ctx;
      const product = await aProduct(ctx);
      const renewed = await aCode(ctx, product, { days: 1 });
      const held = await aCode(ctx, product, { days: 1 });
      t.clock.advance(2 * DAY);
      const other = new Client({ connectionString: t.db.databaseUrl });
      await other.connect();
      try {
        await other.query('BEGIN');
        await other.query('SELECT id FROM codes WHERE id = ANY($1) FOR UPDATE', [[renewed.id, held.id]]);
        await other.query('UPDATE codes SET expires_at = $2 WHERE id = $1', [renewed.id, t.clock.now() + 30 * DAY]);
        const running = sweep(ctx, { releaseExpiredAfterMs: null });
        await new Promise((resolve) => setTimeout(resolve, 300));
        await other.query('COMMIT');
        assert.equal((await running).expired, 1);
      } finally {
        await other.end();
      }
      assert.equal((await getCode(ctx, renewed.id)).status, 'issued');
      assert.equal((await getCode(ctx, held.id)).status, 'expired');
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
