import { strict as assert } from 'node:assert';
import { seed } from '../bench/seed';
import { anchorEntries } from '@licensor/client/contract';
import { issueCode } from '../src/domain/codes';
import { createProduct } from '../src/domain/products';
import { activateMachine } from '../src/domain/seat-allocation';
import type { FingerprintHashes } from '../src/domain/types';
import { KnexActivationStore } from '../src/storage/activation-store';
import { KnexCodeStore } from '../src/storage/code-store';
import { KnexHeartbeatStatsStore } from '../src/storage/heartbeat/heartbeat-stats-store';
import { DAY } from './support/clock';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { whatWasRead } from './support/reads';
import { startTestRuntime, type TestRuntime } from './support/harness';

/** Live activations of the same product that share nothing with the machines looked up. */
const CROWD = 2_000;

forEachEngine('looking up live activations among many', (engine) => {
  let t: TestRuntime;
  let productId: string;
  let codeId: string;
  const first = machine('lookup-first');
  // Shares one anchor (the boot disk) with the first machine and nothing else: a clone suspect.
  const twin: FingerprintHashes = { ...machine('lookup-twin'), 'disk.bootSerial': first['disk.bootSerial']! };
  const ids: Record<string, string> = {};

  before(async function () {
    this.timeout(60_000);
    t = await startTestRuntime(engine);
    const { ctx } = t.runtime;
    const product = await createProduct(ctx, { name: 'lookups' }, 'admin');
    productId = product.id;
    const code = await issueCode(ctx, { product: 'lookups', seats: 5, validity: { expiresAt: t.clock.now() + 30 * DAY } }, 'admin');
    codeId = code.id;
    ids.first = (await activateMachine(ctx, { code: code.code, fingerprint: first }, 'client')).activation.id;
    t.clock.advance(1000);
    ids.twin = (await activateMachine(ctx, { code: code.code, fingerprint: twin }, 'client')).activation.id;

    // A crowd of other machines of the same product, each with anchors of its own (bench/seed.ts).
    const knex = t.runtime.database.knex;
    await seed(knex, CROWD, { productName: 'lookups', keep: 0 });
    const anchors = await knex('activation_anchors').where({ product_id: productId }).count({ n: '*' });
    assert.equal(Number(anchors[0]!.n), (CROWD + 2) * 4);

    // A floating product with three seats taken, one of them silent past its lease.
    await createProduct(ctx, { name: 'lookups-floating', seatMode: 'floating', leaseSeconds: 900 }, 'admin');
    const floating = await issueCode(ctx, { product: 'lookups-floating', seats: 5, validity: { expiresAt: t.clock.now() + 30 * DAY } }, 'admin');
    ids.lapsed = (await activateMachine(ctx, { code: floating.code, fingerprint: machine('floating-silent') }, 'client')).activation.id;
    t.clock.advance(901_000);
    for (const name of ['floating-a', 'floating-b']) await activateMachine(ctx, { code: floating.code, fingerprint: machine(name) }, 'client');
  });
  after(async () => t?.close());

  it('finds every live machine sharing an anchor, with the code each is on', async () => {
    const store = new KnexActivationStore(t.runtime.database.knex);
    const clones = await store.findActiveByAnchors(productId, anchorEntries(twin));
    assert.deepEqual(clones.map((a) => a.id).sort(), [ids.first, ids.twin].sort());
    const sharingFirst = await store.findActiveByAnchors(productId, anchorEntries(first));
    assert.deepEqual(
      sharingFirst
        .filter((a) => a.codeId === codeId)
        .map((a) => a.id)
        .sort(),
      [ids.first, ids.twin].sort(),
    );
    assert.deepEqual(await store.findActiveByAnchors(productId, []), []);
  });

  // First as the tables just grew (no statistics yet: what the planner sees between autovacuum
  // runs, and always on SQLite, where nothing runs ANALYZE), then with fresh statistics.
  for (const statistics of ['as the tables just grew', 'with fresh statistics'] as const) {
    it(`reads only those machines, not the ${CROWD.toLocaleString('en')} other live ones (${statistics})`, async () => {
      const knex = t.runtime.database.knex;
      if (statistics === 'with fresh statistics') await knex.raw(engine === 'postgres' ? 'ANALYZE activations, activation_anchors' : 'ANALYZE');
      const read = await whatWasRead(knex, engine, async (trx) => {
        const store = new KnexActivationStore(trx);
        await store.findActiveByAnchors(productId, anchorEntries(twin));
        await store.findActiveByAnchors(productId, anchorEntries(first));
      });
      if (engine === 'postgres') {
        // Two lookups, two holders each; a handful of anchor rows. OR-ing the anchors in one
        // query read all 8,000 anchors of the product while the tables had no statistics.
        assert.ok(read.rows.activations! <= 4, JSON.stringify(read.rows));
        assert.ok(read.rows.activation_anchors! <= 20, JSON.stringify(read.rows));
      } else {
        // One joined query searched every live activation by the status index.
        const touching = read.plans.filter((p) => /activation/.test(p));
        assert.ok(touching.length > 0, read.plans.join('\n'));
        for (const step of touching) {
          assert.match(
            step,
            /^SEARCH (activations USING INDEX sqlite_autoindex_activations_1 \(id=\?\)|activation_anchors USING INDEX \w+ \(product_id=\? AND component=\? AND hash=\?\))$/,
            read.plans.join('\n'),
          );
        }
      }
    });
  }

  for (const statistics of ['as the tables just grew', 'with fresh statistics'] as const) {
    it(`finds lapsed floating seats and counts live seats per product without reading every other live machine (${statistics})`, async () => {
      const knex = t.runtime.database.knex;
      if (statistics === 'with fresh statistics') await knex.raw(engine === 'postgres' ? 'ANALYZE activations' : 'ANALYZE');
      let lapsed: string[] = [];
      const read = await whatWasRead(knex, engine, async (trx) => {
        lapsed = (await new KnexActivationStore(trx).findLapsedFloating(t.clock.now(), 100)).map((a) => a.id);
        await new KnexHeartbeatStatsStore(trx).sampleActiveSeats(t.clock.now());
      });
      assert.deepEqual(lapsed, [ids.lapsed]);
      if (engine === 'postgres') {
        // The count of the crowd's product reads the crowd once (the view counts a row fetched
        // through an index twice, once for the index and once for the table); with status first,
        // each product's count read the whole crowd, and the lapsed-seat search once more.
        assert.ok(read.rows.activations! <= 2 * (CROWD + 20), JSON.stringify(read.rows));
      } else {
        const touching = read.plans.filter((p) => /activations/.test(p));
        assert.ok(touching.length > 0, read.plans.join('\n'));
        for (const step of touching) {
          assert.match(
            step,
            /^SEARCH \w+ USING (COVERING )?INDEX activations_product_id_status_last_heartbeat_at_index \(product_id=\? AND status=\?( AND last_heartbeat_at<\?)?\)$/,
            read.plans.join('\n'),
          );
        }
      }
    });
  }

  for (const statistics of ['as the tables just grew', 'with fresh statistics'] as const) {
    it(`releases long-expired codes reading their own seats only, not the other live machines (${statistics})`, async () => {
      const { ctx, database } = t.runtime;
      const knex = database.knex;
      const released: string[] = [];
      for (let i = 0; i < 3; i++) {
        const code = await issueCode(ctx, { product: 'lookups', seats: 1, validity: { expiresAt: t.clock.now() + DAY } }, 'admin');
        released.push((await activateMachine(ctx, { code: code.code, fingerprint: machine(`released-${statistics}-${i}`) }, 'client')).activation.id);
        await knex('codes')
          .where({ id: code.id })
          .update({ status: 'expired', expires_at: t.clock.now() - 40 * DAY });
      }
      if (statistics === 'with fresh statistics') await knex.raw(engine === 'postgres' ? 'ANALYZE activations, codes' : 'ANALYZE');
      let moved = 0;
      const read = await whatWasRead(knex, engine, async (trx) => {
        // As when estimates make a hash join look cheaper (a fresh cohort of 10,000 codes among
        // 330,000 live machines did): the lookups must stay per code whatever the planner prefers.
        if (engine === 'postgres') await trx.raw('SET LOCAL enable_nestloop = off');
        moved = (
          await new KnexCodeStore(trx).releaseExpired({ expiresAt: Number.MIN_SAFE_INTEGER, id: '' }, t.clock.now() - 30 * DAY, t.clock.now(), 100, 'sweeper')
        ).moved;
      });
      assert.equal(moved, 3);
      for (const id of released) assert.equal((await ctx.repo.activations.findById(id))!.status, 'deactivated');
      if (engine === 'postgres') {
        // Three codes, a seat each (counted twice when fetched through an index, and once more
        // to end it). Joining the batch's codes to their seats hashed every live activation.
        assert.ok(read.rows.activations! <= 20, JSON.stringify(read.rows));
      } else {
        const touching = read.plans.filter((p) => /activations/.test(p));
        assert.ok(touching.length > 0, read.plans.join('\n'));
        for (const step of touching) {
          assert.match(
            step,
            /^SEARCH activations USING (COVERING )?INDEX (activations_code_id_status_index \(code_id=\? AND status=\?\)|sqlite_autoindex_activations_1 \(id=\?\))$/,
            read.plans.join('\n'),
          );
        }
      }
    });
  }

  it('leaves out a machine that was deactivated', async () => {
    const store = new KnexActivationStore(t.runtime.database.knex);
    assert.ok(await store.end(ids.twin!, 'deactivated', t.clock.now()));
    assert.deepEqual(
      (await store.findActiveByAnchors(productId, anchorEntries(twin))).map((a) => a.id),
      [ids.first],
    );
  });
});
