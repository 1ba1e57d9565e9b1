import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { openDatabase, type Database } from '../src/storage/database';
import { directTransaction, sqlRows, sqliteLiteral, sqlWrite } from '../src/storage/direct-sql';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { statementsDuring, statementsInFlight } from './support/reads';

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
    assert.match(heard[0]!, /^BEGIN\b/);
    assert.ok(heard.includes('COMMIT'));
    assert.deepEqual(await children(), [10, 11, 31, 32, 33, 40]);
  });

  /** The statements knex's query listeners hear while `work` runs. */
  const statementsOf = (work: () => Promise<unknown>) => statementsDuring(database.knex, work);

  const insertChild = 'INSERT INTO children (id, parent_id) VALUES (?, ?)';

  it('sends writes nobody reads with the next statement: on PostgreSQL as one, read by what follows', async () => {
    let seen: number[] = [];
    const heard = await statementsOf(() =>
      directTransaction(database.knex, async (trx) => {
        await sqlWrite(trx, insertChild, [50, 1]);
        await sqlWrite(trx, 'INSERT INTO parents (id) VALUES (?)', [2]);
        await sqlWrite(trx, insertChild, [51, 2]);
        // Read by the statement that follows them, hand-written and the query builder's alike.
        seen = (await sqlRows<{ id: number }>(trx, 'SELECT id FROM children WHERE id >= ? ORDER BY id', [50])).map((r) => r.id);
        await sqlWrite(trx, insertChild, [52, 2]);
        assert.deepEqual(
          (await trx('children').select('id').where('id', '>=', 50).orderBy('id')).map((r: { id: number }) => r.id),
          [50, 51, 52],
        );
        await sqlWrite(trx, insertChild, [53, 1]);
      }),
    );
    assert.deepEqual(seen, [50, 51]);
    const writes = heard.filter((sql) => /insert into/i.test(sql));
    if (engine === 'postgres') {
      // Three writes in one statement, then one before the builder's read, then one before COMMIT.
      assert.equal(writes.length, 3);
      assert.match(writes[0]!, /^WITH w0 AS \(INSERT INTO children .*\), w1 AS \(INSERT INTO parents .*\) INSERT INTO children/);
    } else {
      assert.equal(writes.length, 5);
    }
    assert.deepEqual(heard.slice(-1), ['COMMIT']);
    assert.deepEqual(
      (await children()).filter((id) => id >= 50),
      [50, 51, 52, 53],
    );
  });

  it('fails the transaction where a waiting write fails, and sends nothing a failed transaction left waiting', async () => {
    // Parent 1 exists already: refused with the write that went with it (on PostgreSQL, at COMMIT).
    await assert.rejects(
      directTransaction(database.knex, async (trx) => {
        await sqlWrite(trx, insertChild, [60, 1]);
        await sqlWrite(trx, 'INSERT INTO parents (id) VALUES (?)', [1]);
      }),
      engine === 'sqlite' ? /UNIQUE constraint failed/ : /duplicate key value/,
    );
    await assert.rejects(
      directTransaction(database.knex, async (trx) => {
        await sqlWrite(trx, insertChild, [61, 1]);
        throw new Error('the work failed after a write');
      }),
      /the work failed after a write/,
    );
    const heard = await statementsOf(() => directTransaction(database.knex, (trx) => sqlWrite(trx, insertChild, [62, 1])));
    assert.equal(heard.filter((sql) => /insert into/i.test(sql)).length, 1);
    assert.deepEqual(
      (await children()).filter((id) => id >= 60),
      [62],
    );
  });

  it('sends a bulk write on its own, after the writes waiting, so no statement grows past what the database takes', async () => {
    const rows = (first: number, count: number) => Array.from({ length: count }, (_, i) => [first + i, 1]);
    const bulk = (values: number[][]) => [`INSERT INTO children (id, parent_id) VALUES ${values.map(() => '(?, ?)').join(', ')}`, values.flat()] as const;
    const heard = await statementsOf(() =>
      directTransaction(database.knex, async (trx) => {
        await sqlWrite(trx, insertChild, [70, 1]);
        // 20,000 values each: two sent together would pass PostgreSQL's 65,535 with a third.
        for (const first of [1_000, 11_000, 21_000, 31_000]) await sqlWrite(trx, ...bulk(rows(first, 10_000)));
      }),
    );
    assert.equal(heard.filter((sql) => /insert into/i.test(sql)).length, 5);
    const [{ n }] = (await database.knex('children').where('id', '>=', 70).count({ n: '*' })) as Array<{ n: number | string }>;
    assert.equal(Number(n), 40_001);
  });

  it('runs a statement outside a transaction on a connection from the pool, and gives it back, failed or not', async () => {
    const pool = (database.knex.client as { pool: { numUsed(): number; numFree(): number } }).pool;
    const heard = await statementsOf(async () => {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => sqlRows<{ n: number }>(database.knex, 'SELECT CAST(? AS INTEGER) AS n', [i])));
      assert.deepEqual(
        answers.map((rows) => Number(rows[0]!.n)),
        Array.from({ length: 20 }, (_, i) => i),
      );
      for (let i = 0; i < 3; i++) await assert.rejects(sqlRows(database.knex, 'SELECT n FROM no_such_table', []), /no_such_table/);
    });
    assert.equal(heard.filter((sql) => /^SELECT CAST/.test(sql)).length, 20);
    assert.equal(pool.numUsed(), 0);
    // Every connection the pool holds still serves a transaction.
    for (let i = 0; i < 3; i++)
      assert.deepEqual(await directTransaction(database.knex, (trx) => sqlRows<{ one: number }>(trx, 'SELECT 1 AS one', [])), [{ one: 1 }]);
  });

  it('sends BEGIN with the first statement and the writes waiting with COMMIT on PostgreSQL, without waiting for the answer ahead; on SQLite each waits for the one ahead, and the writes go with COMMIT', async () => {
    const sent = await statementsInFlight(database.knex, () =>
      directTransaction(database.knex, async (trx) => {
        await sqlRows(trx, 'SELECT id FROM parents WHERE id = ?', [1]);
        await sqlWrite(trx, insertChild, [100_001, 1]);
        await sqlWrite(trx, insertChild, [100_002, 1]);
      }),
    );
    assert.deepEqual(
      sent,
      engine === 'postgres'
        ? // One round trip for BEGIN and the read, one for the writes and COMMIT.
          [
            ['BEGIN', 0],
            ['SELECT', 1],
            ['WITH', 0],
            ['COMMIT', 1],
          ]
        : // One trip each for BEGIN and the read, one for the writes and COMMIT.
          [
            ['BEGIN', 0],
            ['SELECT', 0],
            ['INSERT + INSERT + COMMIT', 0],
          ],
    );
    assert.deepEqual(
      (await children()).filter((id) => id > 100_000),
      [100_001, 100_002],
    );
  });

  if (engine === 'postgres') {
    it('writes the statements it sends one after another on PostgreSQL to the socket at once: BEGIN with the first, the writes with COMMIT', async () => {
      // Each pooled connection's socket, as node-pg writes to it: one call per write that leaves the process.
      const written: string[][] = [];
      const connections = await Promise.all([database.knex.client.acquireConnection(), database.knex.client.acquireConnection()]);
      const restore: Array<() => void> = [];
      for (const connection of connections as Array<{ connection: { stream: Record<string, (...args: unknown[]) => unknown> } }>) {
        const socket = connection.connection.stream;
        const [writev, write] = [socket._writev!, socket._write!];
        socket._writev = function (chunks: unknown, ...rest: unknown[]) {
          written.push((chunks as Array<{ chunk: Buffer }>).map((c) => c.chunk.toString('latin1')));
          return writev.call(this, chunks, ...rest);
        };
        socket._write = function (chunk: unknown, ...rest: unknown[]) {
          written.push([(chunk as Buffer).toString('latin1')]);
          return write.call(this, chunk, ...rest);
        };
        restore.push(() => Object.assign(socket, { _writev: writev, _write: write }));
      }
      await Promise.all(connections.map((c) => database.knex.client.releaseConnection(c)));
      // Texts no earlier statement used: a statement already prepared on the connection is sent without its text.
      const read = 'SELECT id AS written_at_once FROM parents WHERE id = ?';
      const insert = 'INSERT INTO children (parent_id, id) VALUES (?, ?)';
      try {
        await directTransaction(database.knex, async (trx) => {
          await sqlRows(trx, read, [1]);
          await sqlWrite(trx, insert, [1, 100_003]);
        });
      } finally {
        restore.forEach((undo) => undo());
      }
      const statementsIn = (write: string[]) => ['BEGIN', 'written_at_once', 'INSERT INTO children', 'COMMIT'].filter((text) => write.join('').includes(text));
      assert.deepEqual(written.map(statementsIn), [
        ['BEGIN', 'written_at_once'],
        ['INSERT INTO children', 'COMMIT'],
      ]);
    });
  }
});

/**
 * SQLite's writes that wait go with the COMMIT in one trip (node-sqlite3's `exec`, which takes no
 * bindings), their values written into the text as literals: each literal must store exactly what
 * binding the value stores, and a value for which that is not certain keeps its binding.
 */
describe('SQLite writes sent as literals', () => {
  let db: TestDatabase;
  let database: Database;

  before(async () => {
    db = await createTestDatabase('sqlite');
    database = openDatabase({ sqliteFile: join(db.dataDir, 'literals.db') });
    // No declared type: SQLite stores each value as it comes, so a literal and a binding compare exactly.
    await database.knex.raw('CREATE TABLE kept (id INTEGER PRIMARY KEY, how TEXT, v)');
  });
  after(async () => {
    await database?.close();
    await db?.drop();
  });

  /** Each value's storage class and exact text (SQLite's `quote`), as stored by `how`. */
  const stored = async (how: string) =>
    (await database.knex.raw(`SELECT typeof(v) AS type, quote(v) AS text FROM kept WHERE how = ? ORDER BY id`, [how])) as Array<{ type: string; text: string }>;

  it('stores every literal exactly as the bound value, quotes, NUL-free Unicode, integers, booleans and bytes included', async () => {
    const values: unknown[] = [
      "it's a 'quoted' ''word''",
      '',
      '?',
      'Grüße, 世界, 🙂, \u2028 and a lone \ud800 surrogate',
      'x'.repeat(5000),
      '{"sharedWith":["a","b"],"q":"?"}',
      0,
      -0,
      -42,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      Date.UTC(2026, 11, 7),
      true,
      false,
      null,
      undefined,
      Buffer.from([0, 1, 0xfe, 0xff]),
    ];
    for (const [i, value] of values.entries()) assert.notEqual(sqliteLiteral(value), undefined, `value ${i} has a literal`);
    await directTransaction(database.knex, async (trx) => {
      for (const value of values) await sqlRows(trx, 'INSERT INTO kept (how, v) VALUES (?, ?)', ['bound', value]);
    });
    const heard = await statementsInFlight(database.knex, () =>
      directTransaction(database.knex, async (trx) => {
        for (const value of values) await sqlWrite(trx, 'INSERT INTO kept (how, v) VALUES (?, ?)', ['literal', value]);
      }),
    );
    assert.deepEqual(heard, [
      ['BEGIN', 0],
      [[...values.map(() => 'INSERT'), 'COMMIT'].join(' + '), 0],
    ]);
    const bound = await stored('bound');
    assert.equal(bound.length, values.length);
    assert.deepEqual(await stored('literal'), bound);
  });

  it('keeps the binding of a value whose literal could store something else, and of a text that holds a quote', async () => {
    const uncertain = [0.1, 1e21, Number.MAX_SAFE_INTEGER + 2, Number.NaN, Number.POSITIVE_INFINITY, 'nul \0 inside', new Date(0), { an: 'object' }];
    for (const value of uncertain) assert.equal(sqliteLiteral(value), undefined, String(value));
    const heard = await statementsInFlight(database.knex, () =>
      directTransaction(database.knex, async (trx) => {
        await sqlWrite(trx, 'INSERT INTO kept (how, v) VALUES (?, ?)', ['exact', 1]);
        await sqlWrite(trx, 'INSERT INTO kept (how, v) VALUES (?, ?)', ['exact', 0.1]);
        await sqlWrite(trx, "INSERT INTO kept (how, v) VALUES ('exact', ?)", ['a quote in the text']);
      }),
    );
    // With one write that must be bound, each write of the trip goes bound, one trip each.
    assert.deepEqual(heard, [
      ['BEGIN', 0],
      ['INSERT', 0],
      ['INSERT', 0],
      ['INSERT', 0],
      ['COMMIT', 0],
    ]);
    assert.deepEqual(await stored('exact'), [
      { type: 'integer', text: '1' },
      { type: 'real', text: '0.1' },
      { type: 'text', text: "'a quote in the text'" },
    ]);
  });
});
