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

  it('writes an attempt given back with the next take, on the same rows: one statement per attempt, never refused for a found code', async () => {
    const store = openGuessBudgetStore(database);
    const budget = [{ key: 'fleet', intervalMs: 60_000, burst: 2 }];
    await store.take([{ key: 'warm', intervalMs: 1_000, burst: 1 }], now); // the process's first take prunes
    const statements = countStatements(database);
    try {
      // A fleet from one address: each activation takes an attempt, finds its code and gives it back.
      for (let i = 0; i < 10; i++) {
        assert.deepEqual(await store.take(budget, now), [], `attempt ${i + 1} refused`);
        await store.giveBack(budget, now);
      }
      assert.equal(statements.count(), 10, 'each give-back went with the next take');
    } finally {
      statements.stop();
    }
  });

  it('writes what no take of its own carried within a moment, where another process sees it', async () => {
    const [mine, other] = [openGuessBudgetStore(database), openGuessBudgetStore(database)];
    const budget = [{ key: 'shared', intervalMs: 60_000, burst: 2 }];
    assert.deepEqual(await mine.take(budget, now), []);
    assert.deepEqual(await mine.take(budget, now), []);
    assert.deepEqual(await other.take(budget, now), budget, 'the budget is spent');
    await mine.giveBack(budget, now);
    const started = Date.now();
    while ((await other.take(budget, now)).length > 0) {
      assert.ok(Date.now() - started < 5_000, 'the attempt given back was never written');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(await other.take(budget, now), budget, 'exactly one attempt came back');
  });

  it('tries once to write what it owes when its database has closed, and not again on its own', async () => {
    const closing = openDatabase({ databaseUrl: db.databaseUrl, sqliteFile: '' });
    const store = openGuessBudgetStore(closing);
    await closing.close();
    const tries = countStatements(closing);
    try {
      await store.giveBack([{ key: 'after-close', intervalMs: 60_000, burst: 2 }], now);
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(tries.count(), 1);
    } finally {
      tries.stop();
    }
  });
});

/** Statements sent outside a transaction: each takes a connection from the pool (src/storage/direct-sql.ts sqlRows). */
function countStatements(database: Database): { count(): number; stop(): void } {
  const client = database.knex.client as { acquireConnection: () => Promise<unknown> };
  const acquire = client.acquireConnection;
  let count = 0;
  client.acquireConnection = function (this: unknown) {
    count++;
    return acquire.call(this);
  };
  return { count: () => count, stop: () => void (client.acquireConnection = acquire) };
}
