import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { openDatabase, type Database } from '../src/storage/database';
import { directTransaction, sqlRows } from '../src/storage/direct-sql';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';

/**
 * The repository's transactions (src/storage/direct-sql.ts): BEGIN, the work, COMMIT on one pooled
 * connection, or ROLLBACK when the work or the commit fails; the query builder and hand-written
 * statements on the same connection; and the connection back in the pool either way.
 */
forEachEngine('transactions on one pooled connection', (engine) => {
  let db: TestDatabase;
  let database: Database;

  before(async () => {
    db = await createTestDatabase(engine);
    // Two connections on PostgreSQL, so a reader outside the transaction has one of its own.
    database = openDatabase({ databaseUrl: db.databaseUrl, sqliteFile: join(db.dataDir, 'direct.db'), poolMax: 2 });
    const knex = database.knex;
    await knex.raw('CREATE TABLE parents (id INTEGER PRIMARY KEY)');
    // Checked at COMMIT, not at the INSERT: a commit the database refuses.
    await knex.raw('CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)');
    await knex('parents').insert({ id: 1 });
  });
  after(async () => {
    await database?.close();
    await db?.drop();
  });

  const children = async () => (await database.knex('children').select('id').orderBy('id')).map((r: { id: number }) => r.id);

  it('commits what the query builder and hand-written statements wrote, on the same connection', async () => {
    const answer = await directTransaction(database.knex, async (trx) => {
      await trx('children').insert({ id: 10, parent_id: 1 });
      // The builder's row is visible to a hand-written statement before the commit: one connection.
      const seen = await sqlRows<{ id: number }>(trx, 'SELECT id FROM children WHERE id = ?', [10]);
      await sqlRows(trx, 'INSERT INTO children (id, parent_id) VALUES (?, ?)', [11, 1]);
      return seen.map((r) => r.id);
    });
    assert.deepEqual(answer, [10]);
    assert.deepEqual(await children(), [10, 11]);
  });

  it('rolls back everything when the work fails, and rejects with its error', async () => {
    await assert.rejects(
      directTransaction(database.knex, async (trx) => {
        await trx('children').insert({ id: 20, parent_id: 1 });
        await sqlRows(trx, 'INSERT INTO children (id, parent_id) VALUES (?, ?)', [21, 1]);
        throw new Error('the work failed');
      }),
      /the work failed/,
    );
    assert.deepEqual(await children(), [10, 11]);
  });

  it('rolls back a commit the database refuses, and the connection serves the next transaction', async () => {
    await assert.rejects(
      directTransaction(database.knex, async (trx) => {
        await sqlRows(trx, 'INSERT INTO children (id, parent_id) VALUES (?, ?)', [30, 99]);
      }),
      engine === 'sqlite' ? /FOREIGN KEY constraint failed/ : /violates foreign key constraint/,
    );
    // SQLite leaves a refused COMMIT's transaction open: without the rollback this one would fail
    // (cannot start a transaction within a transaction) and the row would still be pending.
    for (let i = 0; i < 3; i++)
      await directTransaction(database.knex, (trx) => sqlRows(trx, 'INSERT INTO children (id, parent_id) VALUES (?, ?)', [31 + i, 1]));
    assert.deepEqual(await children(), [10, 11, 31, 32, 33]);
  });

  it('keeps uncommitted writes from other connections, and tells knex query listeners about every statement', async function () {
    const heard: string[] = [];
    const listen = (q: { sql: string }) => heard.push(q.sql);
    database.knex.on('query', listen);
    try {
      await directTransaction(database.knex, async (trx) => {
        await sqlRows(trx, 'INSERT INTO children (id, parent_id) VALUES (?, ?)', [40, 1]);
        await trx('children').where({ id: 40 }).update({ parent_id: 1 });
        // SQLite's one connection is this transaction's; PostgreSQL's second one reads outside it.
        if (engine === 'postgres') assert.deepEqual(await children(), [10, 11, 31, 32, 33]);
      });
    } finally {
      database.knex.off('query', listen);
    }
    assert.equal(heard.filter((sql) => /insert into children/i.test(sql)).length, 1);
    assert.equal(heard.filter((sql) => /update .children./i.test(sql)).length, 1);
    assert.deepEqual(heard.slice(0, 1), ['BEGIN']);
    assert.ok(heard.includes('COMMIT'));
    assert.deepEqual(await children(), [10, 11, 31, 32, 33, 40]);
  });
});
