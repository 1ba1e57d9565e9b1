import { strict as assert } from 'node:assert';
import { uuidv7 } from '../src/domain/clock';

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
