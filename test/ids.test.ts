import { strict as assert } from 'node:assert';
import { uuidv7 } from '../src/domain/clock';
import { uuidV7Sql } from '../src/storage/sql-ids';
import { forEachEngine } from './support/databases';
import { startTestRuntime, type TestRuntime } from './support/harness';

describe('generated ids', () => {
  it('are version-7 UUIDs with the RFC 9562 variant', () => {
    for (let i = 0; i < 1000; i++) assert.match(uuidv7(), /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('never repeat and sort in the order they were made, across many refills of the random pool', () => {
    const ids = Array.from({ length: 20_000 }, () => uuidv7());
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids);
  });

  it('carry the time they were made in their first 48 bits', () => {
    const before = Date.now();
    const id = uuidv7();
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    assert.ok(ms >= before && ms <= Date.now() + 1, `${ms} not within [${before}, now]`);
  });
});

forEachEngine('ids made inside a bulk SQL statement', (engine) => {
  let t: TestRuntime;
  before(async () => {
    t = await startTestRuntime(engine);
  });
  after(async () => t?.close());

  const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const make = async (ms: number, counter: number): Promise<string> => {
    const sql = `SELECT ${uuidV7Sql(t.runtime.database.engine, ms, String(counter))} AS id`;
    const result = (await t.runtime.database.knex.raw(sql)) as { rows?: Array<{ id: string }> } & Array<{ id: string }>;
    return (result.rows ?? result)[0]!.id;
  };

  it('are version-7 UUIDs carrying the given millisecond and a 26-bit counter', async () => {
    const ms = 1_790_000_000_123;
    for (const counter of [0, 1, 4095, 16_383, 16_384, 2 ** 26 - 1]) {
      const id = await make(ms, counter);
      assert.match(id, V7);
      const hex = id.replace(/-/g, '');
      assert.equal(parseInt(hex.slice(0, 12), 16), ms);
      const hi = parseInt(hex.slice(13, 16), 16);
      const lo = parseInt(hex.slice(16, 20), 16) & 0x3fff;
      assert.equal(hi * 16_384 + lo, counter, `${id} carries counter ${counter}`);
    }
  });

  it('sort in counter order within a millisecond and after every id of an earlier one, and never repeat', async () => {
    const ms = Date.now();
    const ids = [await make(ms - 1, 2 ** 26 - 1)];
    for (const counter of [0, 1, 2, 4096, 20_000, 1_000_000]) ids.push(await make(ms, counter));
    assert.deepEqual([...ids].sort(), ids);
    const same = await Promise.all(Array.from({ length: 50 }, () => make(ms, 7)));
    assert.equal(new Set(same).size, same.length, 'the random bits tell apart equal counters');
  });

  it('refuse a timestamp that is not a whole, non-negative 48-bit millisecond', () => {
    for (const bad of [-1, 1.5, 2 ** 48, Number.NaN]) assert.throws(() => uuidV7Sql('postgres', bad, '1'), RangeError);
  });
});
