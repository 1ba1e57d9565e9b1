import { strict as assert } from 'node:assert';
import { ChangeFedCache, forOneTransaction, readThrough, type FedBy } from '../src/storage/change-fed-cache';

/** A feed whose vouching the test switches. */
function fed<V>(cache: ChangeFedCache<V>, synced = true): FedBy<V> & { synced: boolean } {
  return { cache, synced };
}

describe('rows kept in memory by the change feed (products, webhook endpoints)', () => {
  it('reads once while the feed vouches, and again after a change of the row', async () => {
    const products = fed(new ChangeFedCache<{ name: string }>('p', true));
    let reads = 0;
    const read = async () => ({ name: `read ${++reads}` });
    assert.equal((await readThrough(products, 'p1', read))?.name, 'read 1');
    assert.equal((await readThrough(products, 'p1', read))?.name, 'read 1');
    products.cache.apply({ entity: 'p', ids: ['p2'] });
    assert.equal((await readThrough(products, 'p1', read))?.name, 'read 1', 'another row changed');
    products.cache.apply({ entity: 'c', ids: ['p1'] });
    assert.equal((await readThrough(products, 'p1', read))?.name, 'read 1', 'another kind of row changed');
    products.cache.apply({ entity: 'p', ids: ['p1'] });
    assert.equal((await readThrough(products, 'p1', read))?.name, 'read 2');
  });

  it('hands out what it keeps frozen through and through: no reader can change it for the others', async () => {
    const products = fed(new ChangeFedCache<{ name: string; features: string[] }>('p', true));
    const kept = (await readThrough(products, 'p1', async () => ({ name: 'p1', features: ['a'] })))!;
    assert.throws(() => kept.features.push('b'), TypeError);
    assert.deepEqual((await readThrough(products, 'p1', async () => undefined))?.features, ['a']);
  });

  it('does not keep a read that a change overtook', async () => {
    const products = fed(new ChangeFedCache<{ name: string }>('p', true));
    let reads = 0;
    await readThrough(products, 'p1', async () => {
      // The change arrives while the read is on its way: what it read may predate the change.
      products.cache.apply({ entity: 'p', ids: ['p1'] });
      return { name: `read ${++reads}` };
    });
    assert.equal((await readThrough(products, 'p1', async () => ({ name: `read ${++reads}` })))?.name, 'read 2');
  });

  it('neither serves nor keeps anything while the feed does not vouch for it', async () => {
    const products = fed(new ChangeFedCache<{ name: string }>('p', true), false);
    let reads = 0;
    const read = async () => ({ name: `read ${++reads}` });
    await readThrough(products, 'p1', read);
    products.synced = true;
    assert.equal((await readThrough(products, 'p1', read))?.name, 'read 2');
    products.synced = false;
    assert.equal((await readThrough(products, 'p1', read))?.name, 'read 3');
  });

  it('drops everything it holds on any change of its kind when it is not keyed by row', async () => {
    const endpoints = fed(new ChangeFedCache<string[]>('w', false));
    let reads = 0;
    const read = async () => [`endpoint ${++reads}`];
    await readThrough(endpoints, 'enabled', read);
    endpoints.cache.apply({ entity: 'w', ids: ['some-endpoint'] });
    assert.deepEqual(await readThrough(endpoints, 'enabled', read), ['endpoint 2']);
    endpoints.cache.clear();
    assert.deepEqual(await readThrough(endpoints, 'enabled', read), ['endpoint 3']);
  });

  it('reads every time without a cache, and keeps nothing that was not found', async () => {
    let reads = 0;
    await readThrough(null, 'p1', async () => ++reads);
    await readThrough(null, 'p1', async () => ++reads);
    assert.equal(reads, 2);
    const products = fed(new ChangeFedCache<number>('p', true));
    assert.equal(await readThrough(products, 'gone', async () => undefined), undefined);
    assert.equal(await readThrough(products, 'gone', async () => 7), 7);
  });

  it('reads from the database in a transaction that wrote the table, and only in that one', async () => {
    const products = fed(new ChangeFedCache<{ name: string }>('p', true));
    let reads = 0;
    const read = async () => ({ name: `read ${++reads}` });
    await readThrough(products, 'p1', read);
    const writer = forOneTransaction(products);
    const other = forOneTransaction(products);
    assert.equal((await readThrough(writer, 'p1', read))?.name, 'read 1', 'before its write');
    writer.wrote!();
    assert.equal((await readThrough(writer, 'p1', read))?.name, 'read 2');
    assert.equal((await readThrough(writer, 'p1', read))?.name, 'read 3', 'nor kept from it');
    assert.equal((await readThrough(other, 'p1', read))?.name, 'read 1');
    assert.equal((await readThrough(products, 'p1', read))?.name, 'read 1');
  });
});
