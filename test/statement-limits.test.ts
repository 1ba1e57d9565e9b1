import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import knex from 'knex';
import { openDatabase, type Database } from '../src/storage/database';
import { limitClause, limitWrittenIn } from '../src/storage/row-limits';
import { createTestDatabase, type TestDatabase } from './support/databases';

/**
 * SQLite plans a bound LIMIT as the number bound, so a kept statement whose LIMIT is bound again
 * compiles anew at every run (src/storage/row-limits.ts, docs/data-model.md "Statements on
 * SQLite"). Nothing in SQL tells it from the outside, so the rule is checked on the text: ours
 * are written with the number in, and the query builder's are written in by the connection.
 */
describe('row limits in statements on SQLite', () => {
  const root = join(__dirname, '..', '..');

  function sources(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return sources(path);
      return entry.name.endsWith('.ts') ? [path] : [];
    });
  }

  it('writes the number into the statement', () => {
    assert.equal(limitClause(5000), 'LIMIT 5000');
    assert.equal(limitClause(0), 'LIMIT 0');
  });

  it('refuses anything but a whole number of rows, so nothing else is written into a statement', () => {
    for (const rows of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      assert.throws(() => limitClause(rows), RangeError, String(rows));
    }
  });

  it('binds no LIMIT anywhere in the server', () => {
    // row-limits.ts names the query builder's form, to write it in.
    const bound = sources(join(root, 'src'))
      .filter((file) => !file.endsWith(join('storage', 'row-limits.ts')))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .flatMap((line, i) => (/\bLIMIT\s+\?/i.test(line) ? [`${relative(root, file)}:${i + 1}: ${line.trim()}`] : [])),
      );
    assert.deepEqual(bound, []);
  });

  describe("the query builder's", () => {
    // Only to compile statements: knex's SQLite dialect, as the server's connections get them.
    const builder = knex({ client: 'sqlite3', useNullAsDefault: true, connection: { filename: ':memory:' } });
    after(() => builder.destroy());
    const compiled = (q: { toSQL(): { toNative(): { sql: string; bindings: readonly unknown[] } } }) => {
      const { sql, bindings } = q.toSQL().toNative();
      return limitWrittenIn(sql, [...bindings]);
    };

    it('have the limit of .first() and .limit(n) written in, and that binding dropped', () => {
      assert.deepEqual(compiled(builder('codes').where({ id: 'c1' }).first()), { sql: 'select * from `codes` where `id` = ? LIMIT 1', bindings: ['c1'] });
      assert.deepEqual(compiled(builder('codes').count({ n: '*' }).first()), { sql: 'select count(*) as `n` from `codes` LIMIT 1', bindings: [] });
      assert.deepEqual(compiled(builder('codes').where('code', 'like', 'A%').limit(25)), {
        sql: 'select * from `codes` where `code` like ? LIMIT 25',
        bindings: ['A%'],
      });
    });

    it('are left as they are without a bound limit, or with an offset after it', () => {
      for (const q of [builder('codes').where({ id: 'c1' }), builder('codes').limit(5).offset(10)]) {
        const { sql, bindings } = q.toSQL().toNative();
        assert.deepEqual(limitWrittenIn(sql, [...bindings]), { sql, bindings: [...bindings] });
      }
    });

    describe('on a real SQLite connection', () => {
      let db: TestDatabase;
      let database: Database;
      before(async () => {
        db = await createTestDatabase('sqlite');
        database = openDatabase({ databaseUrl: undefined, sqliteFile: join(db.dataDir, 'limits.db') });
        await database.knex.raw('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
        await database.knex('items').insert([1, 2, 3].map((id) => ({ id, name: `item ${id}` })));
      });
      after(async () => {
        await database?.close();
        await db?.drop();
      });

      it('return the rows the limit asks for, run after run', async () => {
        for (let run = 0; run < 3; run++) {
          assert.deepEqual(await database.knex('items').where('id', '>', 1).orderBy('id').first(), { id: 2, name: 'item 2' });
          assert.deepEqual(
            (await database.knex('items').orderBy('id').limit(2)).map((r: { id: number }) => r.id),
            [1, 2],
          );
          assert.deepEqual(await database.knex('items').limit(0), []);
          assert.deepEqual(
            (await database.knex('items').orderBy('id').limit(1).offset(2)).map((r: { id: number }) => r.id),
            [3],
          );
        }
      });
    });
  });
});
