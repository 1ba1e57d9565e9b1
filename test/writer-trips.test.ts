import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TransactionShape } from '../bench/writer-trips';

describe('the benchmark timing of SQLite transactions', () => {
  it('reports each shape of transaction on the real driver: how often, how long held, and each statement in order', function () {
    this.timeout(20_000);
    const dir = mkdtempSync(join(tmpdir(), 'licensor-writer-trips-'));
    try {
      // Our own SQLite opening (kept statements and all), ten transactions of three statements each, one of two, and one whose writes go with its COMMIT.
      const script = `
        const { openDatabase } = require(${JSON.stringify(join(__dirname, '..', 'src', 'storage', 'database.js'))});
        const { directTransaction, sqlWrite } = require(${JSON.stringify(join(__dirname, '..', 'src', 'storage', 'direct-sql.js'))});
        (async () => {
          const db = openDatabase({ sqliteFile: ${JSON.stringify(join(dir, 'trips.db'))} });
          await db.knex.schema.createTable('things', (t) => { t.integer('n'); });
          for (let i = 0; i < 10; i++) await db.knex.transaction(async (tx) => { await tx('things').insert({ n: i }); await tx('things').count(); });
          await db.knex.transaction(async (tx) => { await tx('things').count(); });
          // Writes sent with the COMMIT in one call.
          await directTransaction(db.knex, async (tx) => { await sqlWrite(tx, 'INSERT INTO things (n) VALUES (?)', [1]); await sqlWrite(tx, 'INSERT INTO things (n) VALUES (?)', [2]); });
          await db.close();
        })();
      `;
      execFileSync(process.execPath, ['--require', join(__dirname, '..', 'bench', 'writer-trips.js'), '-e', script], {
        env: { ...process.env, BENCH_WRITER_TRIPS: dir },
      });
      const file = readdirSync(dir).find((f) => f.startsWith('writer-trips-'))!;
      const shapes = JSON.parse(readFileSync(join(dir, file), 'utf8')) as TransactionShape[];

      assert.deepEqual(
        shapes.map((s) => [s.count, s.statements]),
        [
          [10, ['BEGIN', 'insert into things', 'select count(*) from', 'COMMIT']],
          [1, ['BEGIN', 'select count(*) from', 'COMMIT']],
          [1, ['BEGIN IMMEDIATE', 'INSERT INTO things + INSERT INTO things + COMMIT']],
        ],
      );
      const [three] = shapes;
      assert.equal(three!.statementUs.length, 4);
      assert.ok(three!.statementUs.every((us) => us > 0));
      assert.ok(three!.heldUs >= three!.inDriverUs, `held ${three!.heldUs} µs, in the driver ${three!.inDriverUs} µs`);
      assert.ok(three!.betweenUs > 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
