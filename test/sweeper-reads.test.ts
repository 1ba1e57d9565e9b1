import { strict as assert } from 'node:assert';
import { seed } from '../bench/seed';
import type { ExpiryPlace } from '../src/domain/ports';
import { KnexCodeStore } from '../src/storage/code-store';
import { DAY } from './support/clock';
import { forEachEngine } from './support/databases';
import { whatWasRead } from './support/reads';
import { startTestRuntime, type TestRuntime } from './support/harness';

/** Codes that lapsed long ago: a sweep that starts after them must not read them. */
const HISTORY = 2_000;

forEachEngine('what the sweeper reads', (engine) => {
  let t: TestRuntime;
  before(async function () {
    this.timeout(60_000);
    t = await startTestRuntime(engine);
    const knex = t.runtime.database.knex;
    await seed(knex, HISTORY / 2, { productName: 'history', status: 'expired', expiresAt: t.clock.now() - 40 * DAY, keep: 0 });
    await seed(knex, HISTORY / 2, { productName: 'history', status: 'released', expiresAt: t.clock.now() - 40 * DAY, keep: 0 });
  });
  after(async () => t?.close());

  let cohorts = 0;
  /**
   * Three codes of a fresh product with the given status, on a date of their own a few minutes
   * back; returns their ids, their date and the place in date order just before them.
   */
  async function cohort(name: string, status: string): Promise<{ ids: string[]; at: number; before: ExpiryPlace }> {
    const knex = t.runtime.database.knex;
    const at = t.clock.now() - 600_000 + ++cohorts * 1000;
    const { productId } = await seed(knex, 3, { productName: name, status, expiresAt: at, keep: 0 });
    const ids = (await knex('codes').where({ product_id: productId }).select('id')).map((r: { id: string }) => r.id);
    return { ids, at, before: { expiresAt: at - 1, id: '' } };
  }

  for (const statistics of ['as the tables just grew', 'with fresh statistics'] as const) {
    it(`expires the codes due since a place in date order reading only those, not every code that ever lapsed (${statistics})`, async () => {
      const knex = t.runtime.database.knex;
      const due = await cohort(`due-${statistics}`, 'alive');
      if (statistics === 'with fresh statistics') await knex.raw('ANALYZE');
      let moved = 0;
      const read = await whatWasRead(
        knex,
        engine,
        async (trx) => {
          moved = (await new KnexCodeStore(trx).expireDue(due.before, due.at, 100, 'sweeper')).moved;
        },
        ['codes'],
      );
      assert.equal(moved, 3);
      const statuses = await knex('codes').whereIn('id', due.ids).pluck('status');
      assert.deepEqual(statuses, ['expired', 'expired', 'expired']);
      if (engine === 'postgres') {
        // Three codes, each fetched to lock it, again to move it.
        assert.ok(read.rows.codes! <= 12, JSON.stringify(read.rows));
      } else {
        const finding = read.plans.filter((p) => /^(SEARCH|SCAN) codes/.test(p));
        assert.ok(finding.length > 0, read.plans.join('\n'));
        for (const step of finding) {
          assert.match(
            step,
            /^SEARCH codes USING (INDEX codes_expires_at_id_index \(\(expires_at,id\)>\(\?,\?\) AND expires_at<\?\)|(COVERING )?INDEX sqlite_autoindex_codes_1 \(id=\?\))$/,
            read.plans.join('\n'),
          );
        }
      }
    });

    it(`releases the codes expired since a place in date order reading only those (${statistics})`, async () => {
      const knex = t.runtime.database.knex;
      const expired = await cohort(`expired-${statistics}`, 'expired');
      if (statistics === 'with fresh statistics') await knex.raw('ANALYZE');
      let moved = 0;
      const read = await whatWasRead(
        knex,
        engine,
        async (trx) => {
          moved = (await new KnexCodeStore(trx).releaseExpired(expired.before, expired.at + 1, t.clock.now(), 100, 'sweeper')).moved;
        },
        ['codes'],
      );
      assert.equal(moved, 3);
      assert.deepEqual(await knex('codes').whereIn('id', expired.ids).pluck('status'), ['released', 'released', 'released']);
      if (engine === 'postgres') assert.ok(read.rows.codes! <= 12, JSON.stringify(read.rows));
      else {
        const finding = read.plans.filter((p) => /^(SEARCH|SCAN) codes/.test(p));
        assert.ok(finding.length > 0, read.plans.join('\n'));
        for (const step of finding)
          assert.match(
            step,
            /^SEARCH codes USING (INDEX codes_expires_at_id_index \(\(expires_at,id\)>\(\?,\?\) AND expires_at<\?\)|(COVERING )?INDEX sqlite_autoindex_codes_1 \(id=\?\))$/,
            read.plans.join('\n'),
          );
      }
    });
  }

  if (engine === 'postgres') {
    it('expires a code in place: its row changes on its page and no index changes', async () => {
      const knex = t.runtime.database.knex;
      const due = await cohort('in-place', 'issued');
      const updates = await knex.transaction(async (trx) => {
        // The connection's counters, as whatWasRead reads them: the difference across the work.
        const counters = async () => {
          const { rows } = await trx.raw(`SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'codes'`);
          return [Number(rows[0]?.n_tup_upd ?? 0), Number(rows[0]?.n_tup_hot_upd ?? 0)];
        };
        const before = await counters();
        await new KnexCodeStore(trx).expireDue(due.before, due.at, 100, 'sweeper');
        const after = await counters();
        return { all: after[0]! - before[0]!, inPlace: after[1]! - before[1]! };
      });
      assert.deepEqual(updates, { all: 3, inPlace: 3 });
    });
  }
});
