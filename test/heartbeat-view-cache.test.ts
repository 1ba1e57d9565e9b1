import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { Knex } from 'knex';
import { Client, type Notification } from 'pg';
import { generateAuthorizationCode } from '../src/domain/authorization-code';
import { freezeCode, unfreezeCode } from '../src/domain/codes';
import { changeProductPolicy } from '../src/domain/product-policy-change';
import { publishVersion } from '../src/domain/products';
import { recordHeartbeat, type HeartbeatAnswer } from '../src/domain/heartbeat';
import type { HeartbeatView } from '../src/domain/ports';
import { activateMachine } from '../src/domain/seat-allocation';
import { sweep } from '../src/domain/sweeper';
import type { Activation, FingerprintHashes } from '../src/domain/types';
import { openRuntime, type Runtime } from '../src/runtime';
import { openDatabase, type Database } from '../src/storage/database';
import { HeartbeatViewCache, parseViewChange, type ViewChange } from '../src/storage/heartbeat/heartbeat-view-cache';
import { VIEW_CHANGE_CHANNEL } from '../src/storage/migrations/005_heartbeat_view_changes';
import { MAX_CODE_IDS_PER_STATEMENT } from '../src/storage/migrations/006_bulk_code_change_notices';
import { openViewChangeFeed, type RaisedNotices, type ViewChangeFeed } from '../src/storage/heartbeat/view-change-feed';
import { directTransaction } from '../src/storage/direct-sql';
import { DAY, TestClock } from './support/clock';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { aCode, aProduct, codeRecord, machine, productRecord } from './support/factories';
import { testConfig } from './support/harness';

// ---------------------------------------------------------------------------------------------
// Fixtures for the pure cache: plain views, no database.

const T0 = Date.UTC(2026, 0, 1);

function aView(activationId: string, codeId = `code-of-${activationId}`, productId = 'product-1'): HeartbeatView {
  const product = productRecord({ id: productId, name: `name-${productId}` });
  const code = codeRecord({ id: codeId, productId, code: `CODE${codeId}`, metadata: { order: { line: 1 } } });
  const activation: Activation = {
    id: activationId,
    codeId,
    productId,
    fingerprint: machine(activationId),
    environment: { os: { name: 'linux' } },
    status: 'active',
    cloneSuspect: false,
    createdAt: T0,
    lastHeartbeatAt: T0,
    endedAt: null,
    inUseUntil: null,
    secretHash: null,
    fingerprintChangedAt: null,
    replacedComponents: null,
    foreignBeatAt: null,
    clonedAt: null,
  };
  return { activation, code, product };
}

/** Fills the cache with a view read "now" (nothing invalidated in between). */
function put(cache: HeartbeatViewCache, view: HeartbeatView): HeartbeatView {
  return cache.fill(view, cache.stamp());
}

describe('the heartbeat view cache', () => {
  it('answers a hit with the view that was filled', () => {
    const cache = new HeartbeatViewCache(10);
    const view = aView('act-1');
    put(cache, view);
    const hit = cache.get('act-1');
    assert.ok(hit);
    assert.deepEqual(hit, aView('act-1'));
    assert.equal(cache.size, 1);
  });

  it('misses an activation it never held', () => {
    const cache = new HeartbeatViewCache(10);
    put(cache, aView('act-1'));
    assert.equal(cache.get('act-2'), undefined);
  });

  it('does not store a read whose stamp predates an applied change, even an unrelated one', () => {
    const cache = new HeartbeatViewCache(10);
    const stamp = cache.stamp();
    cache.apply({ entity: 'a', ids: ['someone-else'] });
    const returned = cache.fill(aView('act-1'), stamp);
    // The caller still gets its read back; it is just not kept.
    assert.equal(returned.activation.id, 'act-1');
    assert.equal(cache.get('act-1'), undefined);
    assert.equal(cache.size, 0);
  });

  it('does not store a read whose stamp predates a clear', () => {
    const cache = new HeartbeatViewCache(10);
    const stamp = cache.stamp();
    cache.clear();
    cache.fill(aView('act-1'), stamp);
    assert.equal(cache.get('act-1'), undefined);
  });

  it('stores a read taken after the last change', () => {
    const cache = new HeartbeatViewCache(10);
    cache.apply({ entity: 'c', ids: ['x'] });
    cache.fill(aView('act-1'), cache.stamp());
    assert.ok(cache.get('act-1'));
  });

  it('drops every cached activation of a changed code, and only those', () => {
    const cache = new HeartbeatViewCache(10);
    put(cache, aView('a1', 'code-A'));
    put(cache, aView('a2', 'code-A'));
    put(cache, aView('b1', 'code-B'));
    put(cache, aView('c1', 'code-C'));
    cache.apply({ entity: 'c', ids: ['code-A', 'code-C'] });
    assert.equal(cache.get('a1'), undefined);
    assert.equal(cache.get('a2'), undefined);
    assert.equal(cache.get('c1'), undefined);
    assert.ok(cache.get('b1'));
    assert.equal(cache.size, 1);
  });

  it('forgets a code whose activations are all gone, so a later fill of that code is tracked afresh', () => {
    const cache = new HeartbeatViewCache(10);
    put(cache, aView('a1', 'code-A'));
    cache.apply({ entity: 'a', ids: ['a1'] });
    put(cache, aView('a2', 'code-A'));
    cache.apply({ entity: 'c', ids: ['code-A'] });
    assert.equal(cache.get('a2'), undefined);
    assert.equal(cache.size, 0);
  });

  it('drops only the changed activation when an activation changes', () => {
    const cache = new HeartbeatViewCache(10);
    put(cache, aView('a1', 'code-A'));
    put(cache, aView('a2', 'code-A'));
    cache.apply({ entity: 'a', ids: ['a1'] });
    assert.equal(cache.get('a1'), undefined);
    assert.ok(cache.get('a2'));
    // The sibling is still dropped with its code afterwards: the code index was kept right.
    cache.apply({ entity: 'c', ids: ['code-A'] });
    assert.equal(cache.get('a2'), undefined);
  });

  it('clears everything on a product change', () => {
    const cache = new HeartbeatViewCache(10);
    put(cache, aView('a1', 'code-A', 'product-1'));
    put(cache, aView('b1', 'code-B', 'product-2'));
    cache.apply({ entity: 'p', ids: ['product-2'] });
    assert.equal(cache.size, 0);
    assert.equal(cache.get('a1'), undefined);
    assert.equal(cache.get('b1'), undefined);
  });

  it("clears everything on a change naming all rows ('*')", () => {
    for (const entity of ['a', 'c'] as const) {
      const cache = new HeartbeatViewCache(10);
      put(cache, aView('a1', 'code-A'));
      put(cache, aView('b1', 'code-B'));
      cache.apply({ entity, ids: '*' });
      assert.equal(cache.size, 0, entity);
    }
  });

  it('clear() empties it', () => {
    const cache = new HeartbeatViewCache(10);
    put(cache, aView('a1'));
    put(cache, aView('a2'));
    cache.clear();
    assert.equal(cache.size, 0);
    assert.equal(cache.get('a1'), undefined);
  });

  it('evicts the least recently used view beyond its capacity', () => {
    const cache = new HeartbeatViewCache(2);
    put(cache, aView('a1'));
    put(cache, aView('a2'));
    put(cache, aView('a3'));
    assert.equal(cache.size, 2);
    assert.equal(cache.get('a1'), undefined);
    assert.ok(cache.get('a2'));
    assert.ok(cache.get('a3'));
  });

  it('counts a get as a use when choosing what to evict', () => {
    const cache = new HeartbeatViewCache(2);
    put(cache, aView('a1'));
    put(cache, aView('a2'));
    assert.ok(cache.get('a1'));
    put(cache, aView('a3'));
    assert.ok(cache.get('a1'));
    assert.equal(cache.get('a2'), undefined);
    assert.ok(cache.get('a3'));
  });

  it('keeps the view it just stored when every other one was used since', () => {
    const cache = new HeartbeatViewCache(2);
    put(cache, aView('a1'));
    put(cache, aView('a2'));
    assert.ok(cache.get('a1'));
    assert.ok(cache.get('a2'));
    put(cache, aView('a3'));
    assert.equal(cache.size, 2);
    assert.ok(cache.get('a3'));
    // Of the two used ones, the older goes.
    assert.equal(cache.get('a1'), undefined);
    assert.ok(cache.get('a2'));
  });

  it('keeps an evicted activation out of its code index, so a code change does not touch the survivors wrongly', () => {
    const cache = new HeartbeatViewCache(1);
    put(cache, aView('a1', 'code-A'));
    put(cache, aView('b1', 'code-B'));
    cache.apply({ entity: 'c', ids: ['code-A'] });
    assert.ok(cache.get('b1'));
    assert.equal(cache.size, 1);
  });

  it('refilling an activation replaces its view without growing', () => {
    const cache = new HeartbeatViewCache(10);
    put(cache, aView('a1', 'code-A'));
    const moved = aView('a1', 'code-B');
    put(cache, moved);
    assert.equal(cache.size, 1);
    assert.equal(cache.get('a1')!.code.id, 'code-B');
    // Indexed under its new code only.
    cache.apply({ entity: 'c', ids: ['code-A'] });
    assert.ok(cache.get('a1'));
    cache.apply({ entity: 'c', ids: ['code-B'] });
    assert.equal(cache.get('a1'), undefined);
  });

  it('hands out views that cannot be changed, however deep', () => {
    const cache = new HeartbeatViewCache(10);
    const filled = put(cache, aView('a1'));
    const hit = cache.get('a1')!;
    for (const view of [filled, hit]) {
      assert.ok(Object.isFrozen(view));
      assert.throws(() => {
        view.activation.fingerprint = machine('someone-else');
      }, TypeError);
      assert.throws(() => {
        view.activation.fingerprint['os.machineId'] = 'tampered';
      }, TypeError);
      assert.throws(() => {
        (view.activation.fingerprint['net.macs'] as string[]).push('tampered');
      }, TypeError);
      assert.throws(() => {
        view.code.status = 'frozen';
      }, TypeError);
      assert.throws(() => {
        view.code.features.push('enterprise');
      }, TypeError);
      assert.throws(() => {
        (view.code.metadata.order as { line: number }).line = 2;
      }, TypeError);
      assert.throws(() => {
        view.product.leaseSeconds = 1;
      }, TypeError);
      assert.throws(() => {
        view.activation = aView('other').activation;
      }, TypeError);
    }
    assert.equal(cache.get('a1')!.code.status, 'alive');
  });

  it('raises a cached view’s last heartbeat on a newer beat, and keeps it frozen', () => {
    const cache = new HeartbeatViewCache(10);
    put(cache, aView('a1'));
    cache.updateLastHeartbeat('a1', T0 + 5000);
    const hit = cache.get('a1')!;
    assert.equal(hit.activation.lastHeartbeatAt, T0 + 5000);
    assert.ok(Object.isFrozen(hit) && Object.isFrozen(hit.activation));
    assert.throws(() => {
      hit.activation.lastHeartbeatAt = 0;
    }, TypeError);
  });

  it('raises the last heartbeat it hands out without replacing the view it holds', () => {
    const cache = new HeartbeatViewCache(10);
    const filled = put(cache, aView('a1'));
    // No beat since the read: the view it holds, itself.
    assert.equal(cache.get('a1'), filled);
    cache.updateLastHeartbeat('a1', T0 + 5000);
    const hit = cache.get('a1')!;
    assert.notEqual(hit, filled);
    assert.equal(hit.activation.lastHeartbeatAt, T0 + 5000);
    // What it holds, and whoever else holds it, still reads as the database answered.
    assert.equal(filled.activation.lastHeartbeatAt, T0);
    assert.equal(hit.code, filled.code);
    assert.equal(hit.product, filled.product);
    assert.equal(hit.activation.fingerprint, filled.activation.fingerprint);
  });

  it('never lowers a cached view’s last heartbeat', () => {
    const cache = new HeartbeatViewCache(10);
    put(cache, aView('a1'));
    cache.updateLastHeartbeat('a1', T0 + 5000);
    cache.updateLastHeartbeat('a1', T0 + 1000);
    cache.updateLastHeartbeat('a1', T0 + 5000);
    assert.equal(cache.get('a1')!.activation.lastHeartbeatAt, T0 + 5000);
  });

  it('ignores a beat for an activation it does not hold, and a beat does not invalidate pending reads', () => {
    const cache = new HeartbeatViewCache(10);
    const stamp = cache.stamp();
    cache.updateLastHeartbeat('a1', T0 + 5000);
    assert.equal(cache.size, 0);
    cache.fill(aView('a1'), stamp);
    assert.equal(cache.get('a1')!.activation.lastHeartbeatAt, T0);
  });

  it('keeps a noted beat in its code index', () => {
    const cache = new HeartbeatViewCache(10);
    put(cache, aView('a1', 'code-A'));
    cache.updateLastHeartbeat('a1', T0 + 5000);
    cache.apply({ entity: 'c', ids: ['code-A'] });
    assert.equal(cache.get('a1'), undefined);
  });

  it('stores nothing with capacity 0, and still returns the read', () => {
    const cache = new HeartbeatViewCache(0);
    const view = cache.fill(aView('a1'), cache.stamp());
    assert.equal(view.activation.id, 'a1');
    assert.equal(cache.size, 0);
    assert.equal(cache.get('a1'), undefined);
  });
});

describe('reading a view change', () => {
  it('reads one activation, one product, a list of codes and all codes, in the triggers’ wording', () => {
    assert.deepEqual(parseViewChange('a:0190b8a4-aaaa-7000-8000-000000000001'), { entity: 'a', ids: ['0190b8a4-aaaa-7000-8000-000000000001'] });
    assert.deepEqual(parseViewChange('p:prod-1'), { entity: 'p', ids: ['prod-1'] });
    assert.deepEqual(parseViewChange('c:c1,c2,c3'), { entity: 'c', ids: ['c1', 'c2', 'c3'] });
    assert.deepEqual(parseViewChange('c:*'), { entity: 'c', ids: '*' });
  });

  it('rejects anything else', () => {
    for (const text of ['', 'a', 'c', 'x:1', 'A:1', 'a-1', 'a;1', ' a:1', 'activation:1', 'ac:1', '*']) {
      assert.equal(parseViewChange(text), undefined, JSON.stringify(text));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Coherence with the database: two runtimes (two processes' caches and connections) on one database.

const POLL_MS = 25;
const DEADLINE_MS = 5_000;

/** Polls `probe` until it returns a value `done` accepts; fails after the deadline with the last value seen. */
async function eventually<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (done(last)) return last;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${DEADLINE_MS} ms (last seen: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** The secrets of the activations made in these suites, for their heartbeats' proof of possession. */
const secrets = new Map<string, string>();
const beatOf = (activationId: string, fingerprint: FingerprintHashes) => ({ activationId, fingerprint, proof: { secret: secrets.get(activationId) ?? '' } });

type Outcome = { status: string; token: string | null; lastHeartbeatAt: number } | { refused: string };

async function outcome(rt: Runtime, activationId: string, name: string): Promise<Outcome> {
  try {
    const answer: HeartbeatAnswer = await recordHeartbeat(rt.ctx, beatOf(activationId, machine(name)));
    return { status: answer.status, token: answer.token, lastHeartbeatAt: answer.activation.lastHeartbeatAt };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return { refused: code };
    throw err;
  }
}

const statusOf = (o: Outcome) => ('status' in o ? o.status : `refused:${o.refused}`);

/** A separate PostgreSQL session LISTENing on the change channel, collecting what it hears. */
async function listenForChanges(url: string) {
  const client = new Client({ connectionString: url });
  await client.connect();
  const heard: string[] = [];
  client.on('notification', (n: Notification) => {
    if (n.channel === VIEW_CHANGE_CHANNEL) heard.push(n.payload ?? '');
  });
  await client.query(`LISTEN ${VIEW_CHANGE_CHANNEL}`);
  return {
    heard,
    async heardAtLeast(n: number): Promise<void> {
      await eventually(
        `${n} change notice(s)`,
        async () => heard.length,
        (count) => count >= n,
      );
    },
    end: () => client.end(),
  };
}

forEachEngine('the heartbeat view cache kept coherent with the database', (engine) => {
  let db: TestDatabase;
  const clock = new TestClock(Date.now());
  /** "This process": the one whose cache is under test. */
  let a: Runtime;
  /** "Another process" on the same database. */
  let b: Runtime;
  /** A plain connection, as an operator's psql/sqlite3 would be. */
  let raw: Database;
  let productName: string;
  let counter = 0;

  before(async function () {
    this.timeout(60_000);
    db = await createTestDatabase(engine);
    // Liveness is flushed by hand, so what reaches the database is deterministic.
    a = await openRuntime(testConfig(db, { LICENSOR_HEARTBEAT_FLUSH_MS: '60000' }), { clock });
    b = await openRuntime(testConfig(db, { LICENSOR_HEARTBEAT_FLUSH_MS: '60000' }), { clock });
    raw = openDatabase({ databaseUrl: db.databaseUrl, sqliteFile: a.config.sqliteFile });
    productName = (await aProduct(a.ctx)).name;
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await raw?.close();
    await db?.drop();
  });

  /** A fresh one-seat code and a machine activated on it through this process. */
  async function activated(prefix: string) {
    const name = `${prefix}-${engine}-${++counter}`;
    const product = await a.ctx.repo.products.findByName(productName);
    const code = await aCode(b.ctx, product!, { seats: 1 });
    const result = await activateMachine(a.ctx, { code: code.code, fingerprint: machine(name) }, 'test');
    secrets.set(result.activation.id, result.secret);
    return { name, codeId: code.id, activationId: result.activation.id };
  }

  let probes = 0;
  /**
   * Beats until this process holds the activation's view in memory, and proves it: a liveness-only
   * write made behind its back (which raises no change signal) is not seen by the next beat.
   * Returns the liveness left in the database, which a fresh read would answer with.
   */
  async function cachedIn(rt: Runtime, activationId: string, name: string): Promise<number> {
    let behindItsBack = 0;
    await eventually(
      `the view of ${activationId} to be served from memory`,
      async () => {
        const first = await outcome(rt, activationId, name);
        assert.equal(statusOf(first), 'alive');
        // Later than anything written before, so a view already read from the database cannot hold it.
        behindItsBack = clock.now() + 365 * DAY + ++probes * 1000;
        await raw.knex('activations').where({ id: activationId }).update({ last_heartbeat_at: behindItsBack });
        return outcome(rt, activationId, name);
      },
      (o) => 'status' in o && o.lastHeartbeatAt < behindItsBack,
    );
    return behindItsBack;
  }

  /** Waits until the runtime reads the activation from the database again (its cached view was dropped). */
  async function reReadBy(rt: Runtime, activationId: string, name: string, stored: number): Promise<void> {
    await eventually(
      `the view of ${activationId} to be dropped from memory`,
      () => outcome(rt, activationId, name),
      (o) => 'status' in o && o.lastHeartbeatAt === stored,
    );
  }

  it('serves a beaten activation from memory: a liveness-only write elsewhere is not re-read', async () => {
    const { name, activationId } = await activated('memory');
    await cachedIn(a, activationId, name);
    const again = await outcome(a, activationId, name);
    assert.equal(statusOf(again), 'alive');
    assert.ok('status' in again && again.token !== null);
  });

  it('shows a code frozen by another process on a heartbeat here within moments', async () => {
    const { name, codeId, activationId } = await activated('frozen-elsewhere');
    await cachedIn(a, activationId, name);
    await freezeCode(b.ctx, codeId, 'test');
    const seen = await eventually(
      'the freeze to reach this process',
      () => outcome(a, activationId, name),
      (o) => statusOf(o) === 'frozen',
    );
    assert.ok('status' in seen && seen.token === null);
    // And it stays seen: no stale view comes back.
    for (let i = 0; i < 5; i++) assert.equal(statusOf(await outcome(a, activationId, name)), 'frozen');
  });

  it('shows an unfreeze by another process the same way', async () => {
    const { name, codeId, activationId } = await activated('unfrozen-elsewhere');
    await freezeCode(b.ctx, codeId, 'test');
    await eventually(
      'the freeze to reach this process',
      () => outcome(a, activationId, name),
      (o) => statusOf(o) === 'frozen',
    );
    // Cache the frozen view, then thaw elsewhere.
    assert.equal(statusOf(await outcome(a, activationId, name)), 'frozen');
    await unfreezeCode(b.ctx, codeId, 'test');
    const seen = await eventually(
      'the unfreeze to reach this process',
      () => outcome(a, activationId, name),
      (o) => statusOf(o) === 'alive',
    );
    assert.ok('status' in seen && typeof seen.token === 'string');
  });

  it('shows a code frozen with plain SQL on a heartbeat here within moments', async () => {
    const { name, codeId, activationId } = await activated('frozen-by-sql');
    await cachedIn(a, activationId, name);
    await raw.knex('codes').where({ id: codeId }).update({ status: 'frozen' });
    const seen = await eventually(
      'the SQL freeze to reach this process',
      () => outcome(a, activationId, name),
      (o) => statusOf(o) === 'frozen',
    );
    assert.ok('status' in seen && seen.token === null);
  });

  it('refuses a cached activation ended with plain SQL within moments', async () => {
    const { name, activationId } = await activated('ended-by-sql');
    await cachedIn(a, activationId, name);
    await raw.knex('activations').where({ id: activationId }).update({ status: 'deactivated', ended_at: clock.now() });
    await eventually(
      'the ended activation to be refused',
      () => outcome(a, activationId, name),
      (o) => statusOf(o) === 'refused:activation_ended',
    );
  });

  it('answers not found for a cached activation deleted with plain SQL within moments', async () => {
    const { name, activationId } = await activated('deleted-by-sql');
    await cachedIn(a, activationId, name);
    await raw.knex.transaction(async (trx) => {
      await trx('activation_anchors').where({ activation_id: activationId }).delete();
      await trx('activations').where({ id: activationId }).delete();
    });
    await eventually(
      'the deleted activation to be unknown',
      () => outcome(a, activationId, name),
      (o) => statusOf(o) === 'refused:activation_not_found',
    );
  });

  it('shows a freeze made in this process on the very next heartbeat, without waiting', async () => {
    const { name, codeId, activationId } = await activated('frozen-here');
    await cachedIn(a, activationId, name);
    await freezeCode(a.ctx, codeId, 'test');
    const next = await outcome(a, activationId, name);
    assert.equal(statusOf(next), 'frozen');
    assert.ok('status' in next && next.token === null);
  });

  it('matches the very next heartbeat in this process against the re-enrolled fingerprint', async () => {
    const { name, activationId } = await activated('re-enrolled');
    await cachedIn(a, activationId, name);
    const drifted = machine(name, { 'net.macs': 'nic-2' });
    for (let i = 0; i < 3; i++) {
      const answer = await recordHeartbeat(a.ctx, beatOf(activationId, drifted));
      assert.equal(answer.status, 'alive');
      assert.deepEqual(answer.activation.fingerprint['net.macs'], drifted['net.macs']);
    }
    // Re-enrolled once: the later beats matched the stored hashes, not a stale view of the old ones.
    const events = await a.ctx.repo.audit.list({ entityId: activationId, action: 'activation.reenrolled' }, 10, null);
    assert.equal(events.items.length, 1);
  });

  it('shows a product version published by another process on a heartbeat here within moments', async () => {
    const { name, activationId } = await activated('new-version');
    await cachedIn(a, activationId, name);
    const version = `2.${counter}.0`;
    await publishVersion(b.ctx, productName, { version }, 'test');
    const answer = await eventually(
      'the new version to reach this process',
      () => recordHeartbeat(a.ctx, beatOf(activationId, machine(name))),
      (ans) => ans.product.latestVersion === version,
    );
    assert.equal(answer.status, 'alive');
  });

  it('shows a policy changed by another process on a heartbeat here within moments: the next lease is the new one', async () => {
    const { name, activationId } = await activated('new-lease');
    await cachedIn(a, activationId, name);
    const before = (await a.ctx.repo.products.findByName(productName))!;
    const leaseSeconds = before.leaseSeconds + DAY / 1000;
    await changeProductPolicy(b.ctx, productName, { leaseSeconds }, 'test');
    const answer = await eventually(
      'the new lease to reach this process',
      () => recordHeartbeat(a.ctx, beatOf(activationId, machine(name))),
      (ans) => ans.product.leaseSeconds === leaseSeconds,
    );
    const claims = JSON.parse(Buffer.from(answer.token!.split('.')[1]!, 'base64url').toString());
    assert.equal(claims.exp - claims.iat, leaseSeconds);
  });

  it('drops the views of every code one statement changes, however many', async function () {
    this.timeout(30_000);
    const product = await aProduct(a.ctx);
    const codes = [];
    for (let i = 0; i < 201; i++) codes.push(await aCode(b.ctx, product, { seats: 1 }));
    const name = `bulk-${engine}-${++counter}`;
    const first = await activateMachine(a.ctx, { code: codes[0]!.code, fingerprint: machine(name) }, 'test');
    const activationId = first.activation.id;
    secrets.set(activationId, first.secret);
    const bystander = await activated('bulk-bystander');
    const listener = engine === 'postgres' ? await listenForChanges(db.databaseUrl!) : null;
    try {
      // 200 codes: each one named.
      let stored = await cachedIn(a, activationId, name);
      let bystanderStored = await cachedIn(a, bystander.activationId, bystander.name);
      const first200 = codes.slice(0, 200).map((c) => c.id);
      await raw
        .knex('codes')
        .whereIn('id', first200)
        .update({ metadata: JSON.stringify({ batch: 1 }) });
      await reReadBy(a, activationId, name, stored);
      if (listener) {
        await listener.heardAtLeast(1);
        const notice = listener.heard[0]!;
        assert.ok(notice.startsWith('c:'), notice);
        assert.ok(Buffer.byteLength(notice) < 8000);
        assert.deepEqual(notice.slice(2).split(',').sort(), [...first200].sort());
      }
      // The bystander's code was not named: its view is still served from memory.
      const kept = await outcome(a, bystander.activationId, bystander.name);
      assert.ok('status' in kept && kept.lastHeartbeatAt < bystanderStored);

      // 6,000 codes in one statement (the sweeper writes 10,000): every one named — SQLite logs
      // a row each, read in pages; PostgreSQL sends notices of 200 — so the bystander stays.
      const bulk = await bulkCodes(product.id, 6000);
      stored = await cachedIn(a, activationId, name);
      bystanderStored = await cachedIn(a, bystander.activationId, bystander.name);
      await raw
        .knex('codes')
        .where({ product_id: product.id })
        .update({ metadata: JSON.stringify({ batch: 2 }) });
      await reReadBy(a, activationId, name, stored);
      const stillKept = await outcome(a, bystander.activationId, bystander.name);
      assert.ok('status' in stillKept && stillKept.lastHeartbeatAt < bystanderStored, 'a bulk change names its codes, it does not clear everything');
      if (listener) {
        const expected = [...codes.map((c) => c.id), ...bulk].sort();
        const total = 1 + Math.ceil(expected.length / 200);
        await listener.heardAtLeast(total);
        const notices = listener.heard.slice(1, total);
        assert.ok(notices.every((n) => n.startsWith('c:') && n !== 'c:*' && n.slice(2).split(',').length <= 200 && Buffer.byteLength(n) < 8000));
        assert.deepEqual(notices.flatMap((n) => n.slice(2).split(',')).sort(), expected);
      }
    } finally {
      await listener?.end();
    }
  });

  it('raises no change signal for an expiry: a view held from before it answers expired all the same', async () => {
    const due = await activated('expiring');
    const marker = await activated('expiry-marker');
    // Due in a second: a change of date, which does signal; then held in memory again.
    const held = await cachedIn(a, due.activationId, due.name);
    await raw
      .knex('codes')
      .where({ id: due.codeId })
      .update({ expires_at: clock.now() + 1000 });
    await reReadBy(a, due.activationId, due.name, held);
    const stored = await cachedIn(a, due.activationId, due.name);
    const markerStored = await cachedIn(a, marker.activationId, marker.name);
    const listener = engine === 'postgres' ? await listenForChanges(db.databaseUrl!) : null;
    const loggedBefore = engine === 'sqlite' ? await raw.knex('view_changes').max({ seq: 'seq' }).first() : null;
    try {
      clock.advance(2000);
      const report = await sweep(b.ctx, { releaseExpiredAfterMs: null });
      assert.equal(report.expired, 1);
      assert.equal((await raw.knex('codes').where({ id: due.codeId }).first()).status, 'expired');
      // A later change, once seen here, shows this process has read every signal the sweep raised.
      await raw
        .knex('codes')
        .where({ id: marker.codeId })
        .update({ metadata: JSON.stringify({ marker: true }) });
      await reReadBy(a, marker.activationId, marker.name, markerStored);
      if (listener) {
        await listener.heardAtLeast(1);
        assert.deepEqual(listener.heard, [`c:${marker.codeId}`]);
      } else {
        const logged = await raw
          .knex('view_changes')
          .where('seq', '>', (loggedBefore as { seq: number }).seq)
          .pluck('entity_id');
        assert.deepEqual(logged, [marker.codeId]);
      }
      const answer = await outcome(a, due.activationId, due.name);
      assert.equal(statusOf(answer), 'expired');
      assert.ok(
        'status' in answer && answer.token === null && answer.lastHeartbeatAt < stored,
        `answered from the view held before the sweep: ${JSON.stringify(answer)} stored ${stored} now ${clock.now()}`,
      );
    } finally {
      await listener?.end();
    }

    // Any other move of the status still signals: the same code put back to alive by plain SQL.
    await raw
      .knex('codes')
      .where({ id: due.codeId })
      .update({ status: 'alive', expires_at: clock.now() + DAY });
    await eventually(
      'the code put back to be read',
      () => outcome(a, due.activationId, due.name),
      (o) => statusOf(o) === 'alive',
    );
    const heldAgain = await cachedIn(a, due.activationId, due.name);
    await raw.knex('codes').where({ id: due.codeId }).update({ status: 'expired' });
    await reReadBy(a, due.activationId, due.name, heldAgain);
  });

  async function bulkCodes(productId: string, count: number): Promise<string[]> {
    const now = clock.now();
    const rows = Array.from({ length: count }, () => ({
      id: randomUUID(),
      product_id: productId,
      code: generateAuthorizationCode(),
      status: 'issued',
      seats: 1,
      features: '[]',
      expires_at: now + 365 * DAY,
      first_activated_at: null,
      metadata: '{}',
      test: false,
      revision: 0,
      created_at: now,
      updated_at: now,
    }));
    await raw.knex.batchInsert('codes', rows, 500);
    return rows.map((r) => r.id);
  }

  if (engine === 'postgres') {
    it('says "all codes" for a statement that changes more than 20,000, which drops every view', async function () {
      this.timeout(60_000);
      const product = await aProduct(a.ctx);
      await bulkCodes(product.id, MAX_CODE_IDS_PER_STATEMENT + 1);
      const bystander = await activated('huge-bystander');
      const listener = await listenForChanges(db.databaseUrl!);
      try {
        const stored = await cachedIn(a, bystander.activationId, bystander.name);
        await raw
          .knex('codes')
          .where({ product_id: product.id })
          .update({ metadata: JSON.stringify({ huge: true }) });
        await listener.heardAtLeast(1);
        assert.deepEqual(listener.heard, ['c:*']);
        await reReadBy(a, bystander.activationId, bystander.name, stored);
      } finally {
        await listener.end();
      }
    });
  }

  if (engine === 'postgres') {
    describe("a transaction's own notices", () => {
      /** A subscriber that keeps what it is told, in order. */
      const recording = () => {
        const told: string[] = [];
        return { told, apply: (c: ViewChange) => told.push(`${c.entity}:${c.ids === '*' ? '*' : c.ids.join(',')}`), clear: () => told.push('clear') };
      };

      /** Runs `writes` in one transaction that reads its raised notices with its COMMIT; returns them and what a listener heard. */
      async function raisedAndHeard(feed: ViewChangeFeed, expected: number, writes: (trx: Knex.Transaction) => Promise<unknown>) {
        const listener = await listenForChanges(db.databaseUrl!);
        try {
          let raised: Promise<RaisedNotices> | undefined;
          await directTransaction(raw.knex, async (trx) => {
            await writes(trx);
            raised = feed.raisedBy(trx);
          });
          // A marker from a transaction of its own: heard after everything the one above raised.
          await raw.knex.raw(`SELECT pg_notify('${VIEW_CHANGE_CHANNEL}', 'marker')`);
          await listener.heardAtLeast(expected + 1);
          return { raised: await raised, heard: listener.heard.slice(0, listener.heard.indexOf('marker')) };
        } finally {
          await listener.end();
        }
      }

      it('are read with its COMMIT exactly as every listener hears them, in order, and nothing for rows only inserted', async () => {
        const feed = await openViewChangeFeed(raw, recording());
        try {
          const { codeId, activationId } = await activated('raised');
          const product = await aProduct(a.ctx);
          const endpoint = randomUUID();
          const { raised, heard } = await raisedAndHeard(feed, 4, async (trx) => {
            await trx('activations').where({ id: activationId }).update({ environment: '{"moved":true}' });
            await trx('codes').where({ id: codeId }).update({ status: 'frozen' });
            await trx('products').where({ id: product.id }).update({ name: product.name });
            await trx('webhook_endpoints').insert({
              id: endpoint,
              url: 'https://example.test/hook',
              events: '[]',
              enabled: true,
              secret: 'not-a-real-secret',
              created_at: clock.now(),
              updated_at: clock.now(),
            });
          });
          assert.deepEqual(heard, [`a:${activationId}`, `c:${codeId}`, `p:${product.id}`, `w:${endpoint}`]);
          assert.deepEqual(raised, heard);

          // An activation on a code already alive inserts rows and raises nothing: no catch-up after it.
          const alive = await activated('raised-nothing');
          const quiet = await raisedAndHeard(feed, 0, async (trx) => {
            // A second machine on the code: its live seats move (migration 018), no column a heartbeat reads does.
            const row = (await trx('activations').where({ id: alive.activationId }).first()) as Record<string, unknown>;
            await trx('activations').insert({ ...row, id: randomUUID() });
            await trx('audit_events').insert({ ...(await trx('audit_events').where({ entity_id: alive.activationId }).first()), id: randomUUID() });
          });
          assert.deepEqual(quiet, { raised: [], heard: [] });
        } finally {
          await feed.close();
        }
      });

      it('leave a change of a code in the same transaction after its seats moved still noticed', async () => {
        const feed = await openViewChangeFeed(raw, recording());
        try {
          const alive = await activated('seats-then-code');
          const { raised, heard } = await raisedAndHeard(feed, 2, async (trx) => {
            // The seat-count trigger moves the code's count, quietly (migration 020)…
            const row = (await trx('activations').where({ id: alive.activationId }).first()) as Record<string, unknown>;
            await trx('activations').insert({ ...row, id: randomUUID() });
            await trx('activations').where({ id: alive.activationId }).update({ status: 'deactivated', ended_at: clock.now() });
            // …and a change a heartbeat reads, after it in the same transaction, is told as ever.
            await trx('codes').where({ id: alive.codeId }).update({ status: 'frozen' });
          });
          assert.deepEqual(heard, [`a:${alive.activationId}`, `c:${alive.codeId}`]);
          assert.deepEqual(raised, heard);
        } finally {
          await feed.close();
        }
      });

      it('are not listed when there are more than a notice can hold: the process then waits for its listening connection', async function () {
        this.timeout(60_000);
        const feed = await openViewChangeFeed(raw, recording());
        try {
          const product = await aProduct(a.ctx);
          const ids = await bulkCodes(product.id, 400);
          const { raised, heard } = await raisedAndHeard(feed, 2, (trx) =>
            trx('codes')
              .whereIn('id', ids)
              .update({ metadata: JSON.stringify({ many: true }) }),
          );
          assert.equal(heard.length, 2, 'two notices of 200 codes');
          assert.equal(raised, null);
        } finally {
          await feed.close();
        }
      });

      it('are applied to the caches at once, without a round trip; unknown ones by catching up', async () => {
        const subscriber = recording();
        const feed = await openViewChangeFeed(raw, subscriber);
        // It starts from an empty cache.
        assert.deepEqual(subscriber.told.splice(0), ['clear']);
        try {
          const applied = feed.committed(['c:one,two', 'a:three']);
          // Told before anything could come back from the database.
          assert.deepEqual(subscriber.told, ['c:one,two', 'a:three']);
          await applied;
          // A notice committed elsewhere may reach the listening connection before the catch-up is
          // even asked for: then nothing shows what the catch-up waited for, and it is tried again.
          for (let attempt = 1; ; attempt++) {
            const notice = `p:four-${attempt}`;
            await raw.knex.raw(`SELECT pg_notify('${VIEW_CHANGE_CHANNEL}', '${notice}')`);
            const before = [...subscriber.told];
            if (before.includes(notice)) {
              assert.ok(attempt < 20, 'every notice was heard before a catch-up could be asked for');
              continue;
            }
            const caughtUp = feed.committed(null);
            assert.deepEqual(subscriber.told, before, 'nothing applied before the round trip');
            await caughtUp;
            assert.deepEqual(subscriber.told, [...before, notice], 'the catch-up waited for what was committed before it');
            break;
          }
          assert.deepEqual(subscriber.told.slice(0, 2), ['c:one,two', 'a:three']);
        } finally {
          await feed.close();
        }
      });
    });
  }

  if (engine === 'sqlite') {
    it('clears the cache rather than apply more change-log rows than one catch-up may read', async () => {
      const product = await aProduct(a.ctx);
      const ids = await bulkCodes(product.id, 1500);
      const bounded = new HeartbeatViewCache(10);
      const unbounded = new HeartbeatViewCache(10);
      const feeds = [await openViewChangeFeed(raw, bounded, { maxRowsPerCatchUp: 1000 }), await openViewChangeFeed(raw, unbounded)];
      try {
        for (const cache of [bounded, unbounded]) cache.fill(aView('unrelated-activation'), cache.stamp());
        await raw
          .knex('codes')
          .whereIn('id', ids)
          .update({ metadata: JSON.stringify({ rows: 1500 }) });
        await Promise.all(feeds.map((f) => f.catchUp()));
        assert.equal(bounded.size, 0, '1,500 rows past a bound of 1,000: start afresh');
        assert.equal(unbounded.size, 1, 'within the default bound: only the named codes are dropped');
        assert.ok(feeds.every((f) => f.synced));
      } finally {
        await Promise.all(feeds.map((f) => f.close()));
      }
    });
  }

  /** Liveness written elsewhere (an older beat), then this process's coalesced beats on top of it, flushed. */
  async function livenessOnlyWrites(activationId: string, name: string) {
    await raw
      .knex('activations')
      .where({ id: activationId })
      .update({ last_heartbeat_at: clock.now() - DAY });
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      assert.equal(statusOf(await outcome(a, activationId, name)), 'alive');
    }
    assert.ok(a.heartbeats.pendingCount >= 1);
    await a.heartbeats.flush();
    assert.equal(a.heartbeats.pendingCount, 0);
    // The flush really wrote the row.
    assert.equal((await a.ctx.repo.activations.findById(activationId))!.lastHeartbeatAt, clock.now());
  }

  if (engine === 'sqlite') {
    it("logs no change for coalesced liveness writes or a code's lock, and names the code or activation a status change touched", async () => {
      const { name, codeId, activationId } = await activated('liveness-log');
      await cachedIn(a, activationId, name);
      await a.heartbeats.flush();
      const count = async () => Number(((await raw.knex('view_changes').count({ n: '*' })) as Array<{ n: number | string }>)[0]!.n);
      const maxSeq = async () => Number(((await raw.knex('view_changes').max({ s: 'seq' })) as Array<{ s: number | null }>)[0]!.s ?? 0);
      const before = await count();
      const seqBefore = await maxSeq();
      await livenessOnlyWrites(activationId, name);
      assert.equal(await count(), before, 'a liveness write must not log a change');
      await b.ctx.repo.transaction((tx) => tx.codes.lockForUpdate(codeId));
      assert.equal(await count(), before, "taking a code's lock must not log a change");
      await freezeCode(b.ctx, codeId, 'test');
      const added = await raw.knex('view_changes').where('seq', '>', seqBefore).orderBy('seq').select('entity', 'entity_id');
      assert.deepEqual(
        added.map((r: { entity: string; entity_id: string }) => `${r.entity}:${r.entity_id}`),
        [`c:${codeId}`],
      );
      // A status change of the activation itself is logged under the activation.
      await raw.knex('activations').where({ id: activationId }).update({ status: 'deactivated', ended_at: clock.now() });
      const last = await raw.knex('view_changes').orderBy('seq', 'desc').first('entity', 'entity_id');
      assert.equal(`${last.entity}:${last.entity_id}`, `a:${activationId}`);
    });
  }

  if (engine === 'postgres') {
    it("notifies nothing for coalesced liveness writes or a code's lock, and names the code or activation that really changed", async () => {
      const { name, codeId, activationId } = await activated('liveness-notify');
      await cachedIn(a, activationId, name);
      await a.heartbeats.flush();
      const listener = await listenForChanges(db.databaseUrl!);
      const { heard, heardAtLeast } = listener;
      try {
        await livenessOnlyWrites(activationId, name);
        await b.ctx.repo.transaction((tx) => tx.codes.lockForUpdate(codeId));
        // Notices arrive in commit order: had the flush or the lock raised one, it would come first.
        await raw.knex('activations').where({ id: activationId }).update({ environment: '{"moved":true}' });
        await heardAtLeast(1);
        assert.deepEqual(heard.slice(0, 1), [`a:${activationId}`]);
        await freezeCode(b.ctx, codeId, 'test');
        await heardAtLeast(2);
        assert.deepEqual(heard.slice(0, 2), [`a:${activationId}`, `c:${codeId}`]);

        for (let i = 0; i < 3; i++) {
          clock.advance(1000);
          assert.equal(statusOf(await outcome(a, activationId, name)), 'frozen');
        }
        await a.heartbeats.flush();
        assert.equal((await a.ctx.repo.activations.findById(activationId))!.lastHeartbeatAt, clock.now());
        await raw.knex('activations').where({ id: activationId }).update({ status: 'deactivated', ended_at: clock.now() });
        await heardAtLeast(3);
        assert.deepEqual(heard, [`a:${activationId}`, `c:${codeId}`, `a:${activationId}`]);
      } finally {
        await listener.end();
      }
    });

    it('never trusts the cache across a lost listening connection', async function () {
      this.timeout(30_000);
      const { name, codeId, activationId } = await activated('lost-listener');
      await cachedIn(a, activationId, name);
      const dbName = new URL(db.databaseUrl!).pathname.slice(1);
      // A feed of our own beside the runtime's, to watch it notice the loss and come back.
      const probe = await openViewChangeFeed(raw, new HeartbeatViewCache(10));
      const killer = new Client({ connectionString: db.databaseUrl });
      await killer.connect();
      try {
        assert.equal(probe.synced, true);
        const killed = await killer.query(
          `SELECT pid, pg_terminate_backend(pid) AS done FROM pg_stat_activity
            WHERE datname = $1 AND pid <> pg_backend_pid() AND (query ILIKE 'LISTEN%' OR query = 'SELECT 1')`,
          [dbName],
        );
        // This process's two runtimes and the probe: at least three listeners.
        assert.ok(killed.rows.length >= 3, `terminated ${killed.rows.length} listener(s)`);
        // Meanwhile, with nobody listening, an operator freezes the code.
        await raw.knex('codes').where({ id: codeId }).update({ status: 'frozen' });

        await eventually(
          'the probe feed to notice the lost connection',
          async () => probe.synced,
          (s) => s === false,
        );
        const seen = await eventually(
          'the freeze to be seen after the loss',
          () => outcome(a, activationId, name),
          (o) => statusOf(o) === 'frozen',
        );
        assert.ok('status' in seen && seen.token === null);

        // Once listening again, nothing stale comes back, and changes flow again.
        await eventually(
          'the probe feed to reconnect',
          async () => probe.synced,
          (s) => s === true,
        );
        const killedPids = new Set(killed.rows.map((r: { pid: number }) => r.pid));
        await eventually(
          'every terminated listener to be replaced',
          async () => {
            const now = await killer.query(
              `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND (query ILIKE 'LISTEN%' OR query = 'SELECT 1')`,
              [dbName],
            );
            return now.rows.filter((r: { pid: number }) => !killedPids.has(r.pid)).length;
          },
          (n) => n >= killedPids.size,
        );
        assert.equal(statusOf(await outcome(a, activationId, name)), 'frozen');
        assert.equal(statusOf(await outcome(a, activationId, name)), 'frozen');
        await unfreezeCode(b.ctx, codeId, 'test');
        await eventually(
          'the unfreeze to reach this process after reconnecting',
          () => outcome(a, activationId, name),
          (o) => statusOf(o) === 'alive',
        );
        // And the view is cached again, with its feed vouching for it.
        await cachedIn(a, activationId, name);
        await freezeCode(b.ctx, codeId, 'test');
        await eventually(
          'a later freeze to reach this process',
          () => outcome(a, activationId, name),
          (o) => statusOf(o) === 'frozen',
        );
      } finally {
        await killer.end();
        await probe.close();
      }
    });
  }

  if (engine === 'postgres') {
    describe('when the listening connection silently stops answering', () => {
      let relay: StallingRelay;
      let c: Runtime;
      let pendingWrite: Promise<unknown> | null = null;

      before(async () => {
        relay = await StallingRelay.start(new URL(db.databaseUrl!));
        c = await openRuntime(testConfig(db, { LICENSOR_HEARTBEAT_FLUSH_MS: '60000', DATABASE_URL: relay.url(db.databaseUrl!) }), { clock });
      });
      after(async function () {
        this.timeout(20_000);
        // Let everything held back through, so whatever waits on it can finish and close.
        relay?.release();
        await pendingWrite?.catch(() => undefined);
        await c?.close();
        await relay?.close();
      });

      it('stops serving its views from memory within moments', async () => {
        const { name, codeId, activationId } = await activated('stalled-listener');
        assert.equal(relay.stallListeners(), 1);
        // Held in memory once nothing the database says can reach this process: no late notice
        // of the activation's can drop the view, so only the stall can make the freeze seen below.
        await cachedIn(c, activationId, name);
        // The database tells every listener; this process's notice is held up on the way.
        await raw.knex('codes').where({ id: codeId }).update({ status: 'frozen' });
        const seen = await eventually(
          'the freeze to be seen without its notice',
          () => outcome(c, activationId, name),
          (o) => statusOf(o) === 'frozen',
        );
        assert.ok('status' in seen && seen.token === null);
      });

      it('still completes a write made in this process within moments', async () => {
        const { codeId } = await activated('stalled-writer');
        const started = Date.now();
        const write = freezeCode(c.ctx, codeId, 'test');
        pendingWrite = write;
        const finished = await Promise.race([write.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), DEADLINE_MS))]);
        // The freeze itself is committed either way; the question is whether the caller ever hears so.
        const stored = await b.ctx.repo.codes.findById(codeId);
        assert.equal(stored!.status, 'frozen');
        assert.ok(finished, `freezeCode committed but had not returned after ${Date.now() - started} ms: it waits on the silent listening connection`);
      });
    });
  }

  describe('with the cache turned off (LICENSOR_HEARTBEAT_CACHE_ENTRIES=0)', () => {
    let off: Runtime;
    before(async () => {
      off = await openRuntime(testConfig(db, { LICENSOR_HEARTBEAT_FLUSH_MS: '60000', LICENSOR_HEARTBEAT_CACHE_ENTRIES: '0' }), { clock });
    });
    after(async () => off?.close());

    it('reads every beat from the database and sees another process’s change at once', async () => {
      assert.equal(off.config.heartbeatCacheEntries, 0);
      const { name, codeId, activationId } = await activated('uncached');
      const first = await outcome(off, activationId, name);
      assert.equal(statusOf(first), 'alive');
      assert.ok('status' in first && typeof first.token === 'string');
      // A liveness-only write elsewhere is read back: nothing is held in memory.
      const behindItsBack = clock.now() + 365 * DAY;
      await raw.knex('activations').where({ id: activationId }).update({ last_heartbeat_at: behindItsBack });
      const second = await outcome(off, activationId, name);
      assert.ok('status' in second && second.lastHeartbeatAt === behindItsBack);
      await freezeCode(b.ctx, codeId, 'test');
      const next = await outcome(off, activationId, name);
      assert.equal(statusOf(next), 'frozen');
      assert.ok('status' in next && next.token === null);
      await raw.knex('activations').where({ id: activationId }).update({ status: 'deactivated', ended_at: clock.now() });
      assert.equal(statusOf(await outcome(off, activationId, name)), 'refused:activation_ended');
    });
  });
});

/**
 * A TCP relay to PostgreSQL that can hold back, without closing, every connection that has sent
 * LISTEN: a connection that silently stopped answering (a partition, a dropped NAT entry).
 */
class StallingRelay {
  private readonly links = new Set<{ client: net.Socket; upstream: net.Socket; listener: boolean; stalled: boolean; held: Array<[net.Socket, Buffer]> }>();
  private constructor(private readonly server: net.Server) {}

  static async start(target: URL): Promise<StallingRelay> {
    const server = net.createServer();
    const relay = new StallingRelay(server);
    server.on('connection', (client) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      const link = { client, upstream, listener: false, stalled: false, held: [] as Array<[net.Socket, Buffer]> };
      relay.links.add(link);
      const forward = (to: net.Socket) => (chunk: Buffer) => {
        if (to === upstream && chunk.toString('latin1').includes(`LISTEN ${VIEW_CHANGE_CHANNEL}`)) link.listener = true;
        if (link.stalled) link.held.push([to, chunk]);
        else to.write(chunk);
      };
      client.on('data', forward(upstream));
      upstream.on('data', forward(client));
      for (const s of [client, upstream]) s.on('error', () => undefined);
      client.on('close', () => {
        upstream.destroy();
        relay.links.delete(link);
      });
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return relay;
  }

  url(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String((this.server.address() as net.AddressInfo).port);
    return url.toString();
  }

  /** Holds back both directions of every listening connection; returns how many. */
  stallListeners(): number {
    let n = 0;
    for (const link of this.links) {
      if (!link.listener) continue;
      link.stalled = true;
      n++;
    }
    return n;
  }

  /** Delivers what was held back and relays normally again. */
  release(): void {
    for (const link of this.links) {
      link.stalled = false;
      for (const [to, chunk] of link.held.splice(0)) to.write(chunk);
    }
  }

  async close(): Promise<void> {
    for (const link of this.links) {
      link.client.destroy();
      link.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
