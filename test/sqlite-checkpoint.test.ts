import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordHeartbeat } from '../src/domain/heartbeat';
import { activateMachine } from '../src/domain/seat-allocation';
import { openRuntime } from '../src/runtime';
import { openDatabase, type Database } from '../src/storage/database';
import { SqliteCheckpointer, WRITER_CHECKPOINT_PAGES } from '../src/storage/sqlite-checkpoint';
import { TestClock } from './support/clock';
import { createTestDatabase } from './support/databases';
import { aCode, aProduct, machine } from './support/factories';
import { testConfig } from './support/harness';

const PAGE = 4096;
const HOUR_MS = 3_600_000;

/** Writes about `pages` pages of blobs in one transaction. */
async function writePages(database: Database, pages: number): Promise<void> {
  await database.knex.raw('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) INSERT INTO blobs (b) SELECT randomblob(?) FROM n', [
    pages,
    PAGE - 200,
  ]);
}

/** Bytes in the database file itself: what checkpoints have copied there from the WAL. */
const fileBytes = (database: Database) => statSync(database.options.sqliteFile).size;

describe('SQLite checkpoints', () => {
  let dir: string;
  const open: Database[] = [];
  const openSqlite = async (checkpointIntervalMs: number) => {
    const database = openDatabase({ sqliteFile: join(dir, 'licensor.db'), checkpointIntervalMs });
    open.push(database);
    await database.knex.raw('CREATE TABLE IF NOT EXISTS blobs (b BLOB)');
    return database;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'licensor-checkpoint-'));
  });
  afterEach(async () => {
    for (const database of open.splice(0)) await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('are made beside the writer: its commits leave past 1,000 pages in the WAL, and a checkpoint copies them all into the file', async () => {
    const database = await openSqlite(HOUR_MS);
    const before = fileBytes(database);
    await writePages(database, 2000);
    assert.ok(fileBytes(database) - before < 100 * PAGE, 'the writer checkpointed in its commit');
    const result = await database.checkpointer!.checkpoint();
    assert.ok(result && !result.busy);
    assert.ok(result.walFrames >= 2000, `${result.walFrames} frames in the WAL`);
    assert.equal(result.checkpointed, result.walFrames);
    assert.ok(fileBytes(database) - before >= 2000 * PAGE, 'the pages are not in the database file');
  });

  it('run on their own every interval', async function () {
    this.timeout(20_000);
    const database = await openSqlite(20);
    const before = fileBytes(database);
    await writePages(database, 300);
    // A background timer: wait until the file holds the pages, as long as the test allows.
    while (fileBytes(database) - before < 300 * PAGE) await new Promise((resolve) => setTimeout(resolve, 20));
  });

  it('are still made by the writer past WRITER_CHECKPOINT_PAGES when none is made beside it', async function () {
    this.timeout(60_000);
    const database = await openSqlite(HOUR_MS);
    const before = fileBytes(database);
    await writePages(database, WRITER_CHECKPOINT_PAGES + 500);
    assert.ok(fileBytes(database) - before >= WRITER_CHECKPOINT_PAGES * PAGE, 'the writer left the WAL unbounded');
  });

  it('are made by the writer at 1,000 pages, as SQLite does by default, when switched off', async () => {
    const database = await openSqlite(0);
    assert.equal(database.checkpointer, undefined);
    const before = fileBytes(database);
    await writePages(database, 1500);
    assert.ok(fileBytes(database) - before >= 1000 * PAGE, 'the writer did not checkpoint');
  });

  it('skip a tick that finds one still copying: a slow copy never has others queue behind it', async function () {
    this.timeout(60_000);
    const database = await openSqlite(HOUR_MS);
    await writePages(database, 8000); // 32 MiB to copy: many 1 ms ticks come while it runs
    const checkpointer = new SqliteCheckpointer(database.options.sqliteFile, 1);
    try {
      let mostPending = 0;
      while (checkpointer.tally.made < 2) {
        mostPending = Math.max(mostPending, checkpointer.pending);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      assert.equal(mostPending, 1, 'checkpoints queued up behind a running one');
      assert.ok(checkpointer.tally.skipped > 0, 'the copy ended before the next tick: the spec proved nothing');
      assert.equal(checkpointer.lastResult?.checkpointed, checkpointer.lastResult?.walFrames);
    } finally {
      await checkpointer.close();
    }
  });

  it('stop when the database closes, after any that is running', async () => {
    const database = await openSqlite(HOUR_MS);
    await writePages(database, 500);
    const running = database.checkpointer!.checkpoint();
    await database.close();
    open.splice(0);
    const result = await running;
    assert.ok(result && result.checkpointed === result.walFrames);
    assert.equal(await database.checkpointer!.checkpoint(), null);
  });

  it("are not held back by the heartbeat's reads: a read leaves no snapshot behind it", async function () {
    this.timeout(30_000);
    const db = await createTestDatabase('sqlite');
    const runtime = await openRuntime(testConfig(db), { clock: new TestClock() });
    try {
      const product = await aProduct(runtime.ctx);
      const code = await aCode(runtime.ctx, product, { seats: 1 });
      const { activation, secret } = await activateMachine(runtime.ctx, { code: code.code, fingerprint: machine('reader') }, 'test');
      // The first beat reads the view from the database; the beats after it are answered from memory.
      for (let i = 0; i < 3; i++) await recordHeartbeat(runtime.ctx, { activationId: activation.id, fingerprint: machine('reader'), proof: { secret } });
      // Writes after that read: a snapshot the read kept would pin the WAL before them.
      for (let i = 0; i < 5; i++) await aCode(runtime.ctx, product);
      const result = await runtime.database.checkpointer!.checkpoint();
      assert.ok(result && !result.busy);
      assert.ok(result.walFrames > 0);
      assert.equal(result.checkpointed, result.walFrames, 'a reader holds an old snapshot');
    } finally {
      await runtime.close();
      await db.drop();
    }
  });
});
