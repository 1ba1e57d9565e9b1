import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import { nameStatements, openDatabase, type Database } from '../src/storage/database';
import { skipWithoutPostgres, createTestDatabase, type TestDatabase } from './support/databases';

/**
 * Every parameterised statement on a PostgreSQL connection is named (src/storage/database.ts), so
 * the server parses and plans it once per connection. Named or not, a statement answers the same;
 * a table a migration changes under a named statement goes on answering it.
 */
describe('named statements on PostgreSQL connections [postgres]', () => {
  let db: TestDatabase;
  let database: Database;

  before(async function () {
    await skipWithoutPostgres(this);
    db = await createTestDatabase('postgres');
    database = openDatabase({ databaseUrl: db.databaseUrl, sqliteFile: join(db.dataDir, 'unused.db') });
    await database.knex.raw('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    await database.knex('t').insert([
      { id: 1, v: 'one' },
      { id: 2, v: 'two' },
    ]);
  });
  after(async () => {
    await database?.close();
    await db?.drop();
  });

  /** The statements prepared on the transaction's connection (PostgreSQL keeps them per session). */
  const prepared = async (trx: Knex.Transaction) =>
    ((await trx.raw('SELECT statement FROM pg_prepared_statements')).rows as Array<{ statement: string }>).map((r) => r.statement);

  it('prepares a parameterised statement once per connection and answers it as an unnamed one', async () => {
    await database.knex.transaction(async (trx) => {
      const read = (id: number) => trx('t').select('id', 'v').where({ id });
      assert.deepEqual(await read(1), [{ id: 1, v: 'one' }]);
      assert.deepEqual(await read(2), [{ id: 2, v: 'two' }]);
      assert.deepEqual(await read(3), []);
      const text = read(1).toSQL().toNative().sql;
      assert.deepEqual(
        (await prepared(trx)).filter((s) => s === text),
        [text],
      );
    });
  });

  it('leaves statements without parameters and statements that read * unnamed; count(*) is named', async () => {
    await database.knex.transaction(async (trx) => {
      await trx.raw('SELECT v FROM t ORDER BY id');
      assert.deepEqual((await trx.raw('SELECT * FROM t WHERE id = ?', [1])).rows, [{ id: 1, v: 'one' }]);
      assert.deepEqual(await trx('t').where({ id: 2 }).update({ v: 'deux' }, '*'), [{ id: 2, v: 'deux' }]);
      assert.deepEqual(await trx('t').count({ n: '*' }).where('id', '>', 0), [{ n: 2 }]);
      const statements = await prepared(trx);
      assert.ok(!statements.some((s) => s.startsWith('SELECT v FROM t')), statements.join('\n'));
      assert.ok(!statements.some((s) => /select \*|returning \*/i.test(s)), statements.join('\n'));
      assert.ok(
        statements.some((s) => /^select count\(\*\)/i.test(s)),
        statements.join('\n'),
      );
      await trx('t').where({ id: 2 }).update({ v: 'two' });
    });
  });

  it('goes on answering a named statement after a migration adds a column to its table', async () => {
    await database.knex.transaction(async (trx) => {
      const read = () => trx('t').select('id', 'v').where({ id: 1 });
      assert.deepEqual(await read(), [{ id: 1, v: 'one' }]);
      await trx.raw("ALTER TABLE t ADD COLUMN w TEXT NOT NULL DEFAULT 'new'");
      assert.deepEqual(await read(), [{ id: 1, v: 'one' }]);
      assert.deepEqual((await trx.raw('SELECT * FROM t WHERE id = ?', [1])).rows, [{ id: 1, v: 'one', w: 'new' }]);
      await trx.raw('ALTER TABLE t DROP COLUMN w');
    });
  });

  it('leaves bulk statements, of more than 64 values, unnamed', async () => {
    await database.knex.transaction(async (trx) => {
      const ids = Array.from({ length: 65 }, (_, i) => i + 1);
      assert.equal((await trx('t').select('id').whereIn('id', ids)).length, 2);
      assert.equal((await trx('t').select('id').whereIn('id', ids.slice(0, 64))).length, 2);
      const statements = await prepared(trx);
      assert.ok(
        statements.some((s) => s.includes('$64)')),
        'the statement of 64 values is named',
      );
      assert.ok(!statements.some((s) => s.includes('$65')), 'the statement of 65 values is not');
    });
  });

  it('names no more distinct texts than its limit; the rest go unnamed and still answer', async () => {
    const client = new pg.Client({ connectionString: db.databaseUrl });
    await client.connect();
    try {
      nameStatements(client, 2);
      for (const column of ['id', 'v', 'id, v']) assert.equal((await client.query({ text: `SELECT ${column} FROM t WHERE id = $1`, values: [1] })).rowCount, 1);
      const statements = (await client.query('SELECT statement FROM pg_prepared_statements ORDER BY prepare_time')).rows.map(
        (r: { statement: string }) => r.statement,
      );
      assert.deepEqual(statements, ['SELECT id FROM t WHERE id = $1', 'SELECT v FROM t WHERE id = $1']);
    } finally {
      await client.end();
    }
  });
});
