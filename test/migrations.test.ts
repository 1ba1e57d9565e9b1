import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { openDatabase, type Database } from '../src/storage/database';
import { migrateToLatest, migrationsCurrent } from '../src/storage/migrate';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';

const LOCK_TABLE = 'licensor_migrations_lock';

forEachEngine('migrating the schema', (engine) => {
  let db: TestDatabase;
  let database: Database;

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    database = open();
  });
  afterEach(async () => {
    await database?.close();
    await db?.drop();
  });

  /** knex warns on every attempt that finds the lock taken; the outcome is what is asserted. */
  const open = () => openDatabase({ databaseUrl: db.databaseUrl, sqliteFile: join(db.dataDir, 'licensor.db'), log: () => undefined });

  /** knex's lock table as knex itself creates it, with the given rows (as two racing processes can leave it). */
  async function lockTableWith(...locked: number[]): Promise<void> {
    await database.knex.schema.createTable(LOCK_TABLE, (t) => {
      t.increments('index').primary();
      t.integer('is_locked');
    });
    for (const is_locked of locked) await database.knex(LOCK_TABLE).insert({ is_locked });
  }

  const lockRows = async () =>
    ((await database.knex(LOCK_TABLE).select('index', 'is_locked').orderBy('index')) as Array<{ index: number; is_locked: number | boolean }>).map((r) =>
      Number(r.is_locked),
    );

  it('brings an empty database to the latest schema, leaving one unlocked lock row', async () => {
    await migrateToLatest(database.knex);
    assert.equal(await migrationsCurrent(database.knex), true);
    assert.deepEqual(await lockRows(), [0]);
  });

  if (engine === 'postgres') {
    // Its plan is kept per session from the first statement it saw; after a one-code update, a
    // nested loop made a 20,000-code statement compare every pair of rows (84 s instead of 0.6 s).
    it("plans the codes trigger's old/new comparison without nested loops", async () => {
      await migrateToLatest(database.knex);
      const { rows } = (await database.knex.raw("SELECT proconfig FROM pg_proc WHERE proname = 'licensor_view_codes_changed'")) as {
        rows: Array<{ proconfig: string[] | null }>;
      };
      assert.deepEqual(
        rows.map((r) => r.proconfig),
        [['enable_nestloop=off']],
      );
    });
  }

  it('is a no-op on a database that is already current', async () => {
    await migrateToLatest(database.knex);
    await migrateToLatest(database.knex, 5_000);
    assert.equal(await migrationsCurrent(database.knex), true);
    assert.deepEqual(await lockRows(), [0]);
  });

  it('lets two processes migrating an empty database at once both finish, with one lock row', async function () {
    this.timeout(60_000);
    const other = open();
    try {
      await Promise.all([migrateToLatest(database.knex, 30_000), migrateToLatest(other.knex, 30_000)]);
      assert.equal(await migrationsCurrent(database.knex), true);
      assert.equal(await migrationsCurrent(other.knex), true);
      assert.deepEqual(await lockRows(), [0]);
    } finally {
      await other.close();
    }
  });

  it('still migrates when two racing processes left two unlocked lock rows, and keeps only one', async function () {
    this.timeout(20_000);
    await lockTableWith(0, 0);
    assert.equal(await migrationsCurrent(database.knex), false);
    await migrateToLatest(database.knex, 10_000);
    assert.equal(await migrationsCurrent(database.knex), true);
    assert.deepEqual(await lockRows(), [0]);
  });

  it('leaves a lock that is really held alone, and gives up after its timeout', async function () {
    this.timeout(20_000);
    await lockTableWith(1);
    const started = Date.now();
    await assert.rejects(migrateToLatest(database.knex, 1_500), /locked/i);
    assert.ok(Date.now() - started >= 1_500, 'it waited for the lock until the timeout');
    assert.deepEqual(await lockRows(), [1]);
    assert.equal(await migrationsCurrent(database.knex), false);
  });

  it('removes no row when the extra lock rows are held, not abandoned', async function () {
    this.timeout(20_000);
    await lockTableWith(1, 1);
    await assert.rejects(migrateToLatest(database.knex, 1_500), /locked/i);
    assert.deepEqual(await lockRows(), [1, 1]);
    assert.equal(await migrationsCurrent(database.knex), false);
  });
});
