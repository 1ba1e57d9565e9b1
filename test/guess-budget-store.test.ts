import { strict as assert } from 'node:assert';
import { Client } from 'pg';
import { openDatabase, type Database } from '../src/storage/database';
import { openGuessBudgetStore } from '../src/storage/guess-budget-store';
import { migrateToLatest } from '../src/storage/migrate';
import { createTestDatabase, skipWithoutPostgres, type TestDatabase } from './support/databases';

describe('the guessing budgets shared on PostgreSQL', () => {
  let db: TestDatabase;
  let database: Database;
  const now = Date.UTC(2026, 11, 7);

  before(async function () {
    await skipWithoutPostgres(this);
    db = await createTestDatabase('postgres');
    database = openDatabase({ databaseUrl: db.databaseUrl, sqliteFile: '' });
    await migrateToLatest(database.knex);
  });
  after(async () => {
    await database?.close();
    await db?.drop();
  });

  it('prunes full budgets without waiting for one a take holds, so a prune and a take never deadlock', async () => {
    // Three full budgets (full again in the past) and a take, elsewhere, holding the middle one.
    await database.knex('guess_budgets').insert(['k0', 'k1', 'k2'].map((key) => ({ key, full_at: now - 60_000, span: 1_000 })));
    const taker = new Client({ connectionString: db.databaseUrl });
    await taker.connect();
    try {
      await taker.query('BEGIN');
      await taker.query("UPDATE guess_budgets SET full_at = full_at WHERE key = 'k1'");
      // The first take of a process prunes first. Were the prune to wait for k1, it would wait
      // until the transaction above ends, which only happens after this take has answered.
      const refused = await openGuessBudgetStore(database).take([{ key: 'k3', intervalMs: 1_000, burst: 5 }], now);
      assert.deepEqual(refused, []);
      const keys = (await database.knex('guess_budgets').orderBy('key').select('key')).map((r: { key: string }) => r.key);
      assert.deepEqual(keys, ['k1', 'k3'], 'the full budgets pruned but the held one, and the new budget taken');
    } finally {
      await taker.query('ROLLBACK').catch(() => undefined);
      await taker.end();
    }
  });
});
