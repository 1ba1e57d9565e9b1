import { strict as assert } from 'node:assert';
import knexFactory, { type Knex } from 'knex';
import { mergedWal, postgresCpuSpent, postgresCpuByPid, walCell, walDuring } from '../bench/postgres-wal';
import { createTestDatabase, skipWithoutPostgres, type TestDatabase } from './support/databases';

describe("the benchmark figures of PostgreSQL's WAL and CPU per answer", function () {
  let database: TestDatabase;
  let knex: Knex;

  before(async function () {
    await skipWithoutPostgres(this);
    database = await createTestDatabase('postgres');
    knex = knexFactory({ client: 'pg', connection: database.databaseUrl, pool: { min: 1, max: 2 } });
    // A table of a few hundred pages, written out by a checkpoint: the next change to each of its
    // pages is logged whole.
    await knex.raw('CREATE TABLE things (id integer PRIMARY KEY, payload text NOT NULL) WITH (autovacuum_enabled = off)');
    await knex.raw("INSERT INTO things SELECT i, repeat('x', 200) FROM generate_series(1, 20000) AS i");
  });

  after(async () => {
    await knex?.destroy();
    await database?.drop();
  });

  it('counts the bytes a run wrote and, where pg_walinspect is there, the full-page images by relation', async function () {
    this.timeout(30_000);
    await knex.raw('CHECKPOINT');
    const pages = Number((await knex.raw<{ rows: Array<{ n: string }> }>("SELECT (pg_relation_size('things') / 8192)::text AS n")).rows[0]!.n);
    const available = (await knex.raw<{ rows: unknown[] }>("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_walinspect'")).rows.length > 0;

    // Every row changed once: each heap page's first change after the checkpoint is an image.
    const { result, wal } = await walDuring(knex, async () => {
      await knex.raw('UPDATE things SET payload = payload');
      return 'done';
    });

    assert.equal(result, 'done');
    assert.ok(wal.bytes > pages * 4096, `${wal.bytes} bytes for ${pages} pages changed`);
    if (!available) {
      assert.equal(wal.images, null);
      assert.match(walCell(wal, 10), /not counted: no pg_walinspect/);
      return;
    }
    assert.ok(wal.images, 'pg_walinspect is available, yet no images were counted');
    const heap = wal.images.get('things') ?? 0;
    assert.ok(heap >= pages * 0.9 && heap <= pages * 1.1, `${heap} images of things for ${pages} pages`);
    assert.ok((wal.images.get('things_pkey') ?? 0) > 0, 'the primary key got new entries on pages written before the checkpoint');
    assert.match(walCell(wal, pages), /^\d+\.\d KiB, \d+\.\d\d full-page images \(1\.\d\d things/);
  });

  it("counts the CPU time PostgreSQL's processes spent during a run, when they run on this machine", async function () {
    this.timeout(30_000);
    const local = postgresCpuByPid() !== null;
    // A statement that keeps a backend busy for a while and writes nothing.
    const { wal: busy } = await walDuring(knex, async () => knex.raw('SELECT count(*) FROM generate_series(1, 5000000) AS s(n) WHERE n % 7 = 0'));
    if (!local) {
      assert.equal(busy.cpuUs, null);
      assert.doesNotMatch(walCell(busy, 1), /CPU/);
      return;
    }
    assert.ok(busy.cpuUs !== null && busy.cpuUs >= 50_000, `${busy.cpuUs} µs for five million rows counted`);
    assert.match(walCell(busy, 1), /, CPU [0-9,]+ µs$/);
    const { wal: idle } = await walDuring(knex, async () => new Promise((resolve) => setTimeout(resolve, 200)));
    assert.ok(idle.cpuUs !== null && idle.cpuUs < busy.cpuUs, `${idle.cpuUs} µs while nothing ran, ${busy.cpuUs} µs while counting`);
  });

  it('counts nothing of a run that wrote nothing', async function () {
    this.timeout(30_000);
    const { wal } = await walDuring(knex, async () => knex.raw('SELECT 1'));
    assert.equal(
      [...(wal.images ?? new Map<string, number>()).values()].reduce((a, b) => a + b, 0),
      0,
    );
    assert.match(walCell(wal, 1), /^\d+\.\d KiB/);
  });

  it('counts a process that ended during a run as nothing, and one that started as all it spent', () => {
    const before = new Map([
      [10, 5_000],
      [11, 900_000],
    ]);
    // 11 ended (its 900 ms would otherwise be taken off), 12 started.
    const after = new Map([
      [10, 7_000],
      [12, 3_000],
    ]);
    assert.equal(postgresCpuSpent(before, after), 5_000);
    assert.equal(postgresCpuSpent(null, after), null);
  });

  it('adds up the figures of runs taken in turns, and knows none where a turn has none', () => {
    const turn = (bytes: number, images: Array<[string, number]> | null, cpuUs: number | null) => ({ bytes, images: images && new Map(images), cpuUs });
    const both = mergedWal([
      turn(1_000, [['activations', 2]], 300),
      turn(
        3_000,
        [
          ['activations', 1],
          ['codes', 4],
        ],
        500,
      ),
    ]);
    assert.deepEqual(both, {
      bytes: 4_000,
      images: new Map([
        ['activations', 3],
        ['codes', 4],
      ]),
      cpuUs: 800,
    });
    assert.deepEqual(mergedWal([turn(1_000, [], null), turn(1_000, null, 5)]), { bytes: 2_000, images: null, cpuUs: null });
    assert.equal(mergedWal([turn(1_000, [], 1), null]), null);
  });
});
