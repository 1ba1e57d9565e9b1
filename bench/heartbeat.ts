/**
 * Heartbeat and activation throughput and latency against a bare Express route in the same run
 * (the ratio is the figure: these machines are shared and noisy), and against the same route on a
 * server with Express's classes from birth, on SQLite and PostgreSQL;
 * p99 and activation with 1,000 vs 1,000,000 codes; the sweeper expiring 100,000 codes alone, under
 * saturating heartbeat load and under a steady rate, and releasing 100,000 long-expired ones;
 * the server's peak RSS. Prints figures; never passes or fails on time.
 *
 *   npm run bench:heartbeat   (BENCH_SECONDS=5 BENCH_WARMUP_SECONDS=3 BENCH_SCALE=1000000 BENCH_ENGINES=sqlite,postgres
 *                              BENCH_PHASES=heartbeat,activation,scale,sweeper BENCH_CONNECTIONS=1,16,64)
 *
 * BENCH_CPU_PROFILE=<dir> has every process write a CPU profile there (bench/profile-summary.ts).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openDatabase, type Database } from '../src/storage/database';
import { migrateToLatest } from '../src/storage/migrate';
import { createTestDatabase, type EngineName } from '../test/support/databases';
import { benchFingerprint, benchSecret, seed } from './seed';
import { fmt, load, peakRssMiB, pinnedApart, ROOT, row, startProcess, type Running } from './support';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SCALE = Number(process.env.BENCH_SCALE ?? 1_000_000);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const ENGINES = (process.env.BENCH_ENGINES ?? 'sqlite,postgres').split(',');
const PHASES = new Set((process.env.BENCH_PHASES ?? 'heartbeat,activation,scale,sweeper').split(','));
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '1,16,64').split(',').map(Number);
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const BIN = join(ROOT, 'bin', 'licensor.js');
const run = promisify(execFile);

interface Target {
  engine: string;
  env: Record<string, string>;
  database: Database;
  cleanup(): Promise<void>;
}

/** A fresh database of the engine (the test suite's helper: its own PostgreSQL database, dropped after), migrated. */
async function target(engine: string): Promise<Target> {
  const db = await createTestDatabase(engine as EngineName);
  const env: Record<string, string> = {
    LICENSOR_DATA_DIR: db.dataDir,
    LICENSOR_PORT: '0',
    LICENSOR_ADMIN_TOKEN: ADMIN_TOKEN,
    LICENSOR_LOG_LEVEL: 'warn',
    LICENSOR_SWEEP_INTERVAL_SECONDS: '86400',
    LICENSOR_GUESS_BURST: '100000000',
    LICENSOR_CODE_ATTEMPT_BURST: '100000000',
  };
  if (db.databaseUrl) env.DATABASE_URL = db.databaseUrl;
  const database = openDatabase({ databaseUrl: db.databaseUrl, sqliteFile: join(db.dataDir, 'licensor.db') });
  await migrateToLatest(database.knex);
  return {
    engine,
    env,
    database,
    async cleanup() {
      await database.close();
      await db.drop();
    },
  };
}

const W = [10, 6, 10, 9, 9, 10, 9, 9, 7];
const HEADER = row(['engine', 'conns', 'bare r/s', 'p50 ms', 'p99 ms', 'beat r/s', 'p50 ms', 'p99 ms', 'ratio'], W);
const ACTIVATION_HEADER = row(['engine', 'conns', 'bare r/s', 'p50 ms', 'p99 ms', 'act r/s', 'p50 ms', 'p99 ms', 'ratio'], W);

function cycle<T>(items: T[]): () => T {
  let i = 0;
  return () => items[i++ % items.length]!;
}

/** Heartbeat bodies of these seeded activations in turn, each with its machine's fingerprint (bench/seed.ts). */
function beatsOf(activations: string[]): () => { activationId: string; secret: string; fingerprint: Record<string, string | string[]> } {
  const beats = activations.map((activationId) => ({ activationId, secret: benchSecret(activationId), fingerprint: benchFingerprint(activationId) }));
  return cycle(beats);
}

// The client sends a fresh nonce per request; the server's work does not depend on its value.
const NONCE = { 'licensor-nonce': 'bench-nonce-0123456789' };

/**
 * `withoutNonce` also measures beats sent without a nonce, whose answers the server signs a
 * second time (body signature besides the token): the cost the token-carried nonce avoids.
 * `classes`, when given, is the bare route on a server with Express's classes from birth
 * (bare-express.ts), measured in the same runs; its row's ratio is licensor's against it.
 */
async function heartbeatRuns(t: Target, bare: Running, server: Running, activations: string[], withoutNonce = false, label = t.engine, classes?: Running) {
  const body = beatsOf(activations);
  for (const connections of CONNECTIONS) {
    const runs = async () => {
      // A warm-up of each (licensor has far more code for the JIT to settle), then the measured runs one after the other.
      await load(`${bare.url}/v1/heartbeat`, connections, WARMUP_SECONDS, body);
      if (classes) await load(`${classes.url}/v1/heartbeat`, connections, WARMUP_SECONDS, body);
      await load(`${server.url}/v1/heartbeat`, connections, WARMUP_SECONDS, body, NONCE);
      const b = await load(`${bare.url}/v1/heartbeat`, connections, SECONDS, body);
      const c = classes ? await load(`${classes.url}/v1/heartbeat`, connections, SECONDS, body) : null;
      const h = await load(`${server.url}/v1/heartbeat`, connections, SECONDS, body, NONCE);
      const u = withoutNonce ? await load(`${server.url}/v1/heartbeat`, connections, SECONDS, body) : null;
      return { b, c, h, u };
    };
    // One connection is pure latency: pinned apart (support.ts); more use both cores, as in production.
    const pinnable = classes ? [bare, classes, server] : [bare, server];
    const { result, pinned } = connections === 1 ? await pinnedApart(pinnable, runs) : { result: await runs(), pinned: false };
    const { b, c, h, u } = result;
    const bad = h.non2xx + h.errors;
    const notes = [pinned ? 'server and load generator on a core each' : '', bad ? `${bad} non-2xx/errors` : ''].filter(Boolean);
    console.log(row([label, connections, fmt(b.rps), b.p50, b.p99, fmt(h.rps), h.p50, h.p99, fmt(h.rps / b.rps, 2)], W) + (notes.length ? `  (${notes.join('; ')})` : ''));
    if (c) console.log(row(['classes', connections, fmt(c.rps), c.p50, c.p99, '', '', '', fmt(h.rps / c.rps, 2)], W) + '  (bare route with Express classes from birth; ratio against it)');
    if (u) console.log(row(['no nonce', connections, '', '', '', fmt(u.rps), u.p50, u.p99, fmt(u.rps / b.rps, 2)], W) + '  (answer signed twice)');
  }
}

/** Every activation run brings machines never seen before. */
let machinesMade = 0;

/**
 * New machines activating on the heartbeat product, so that looking up a machine's seat and its
 * clones runs against every live activation seeded there (1,000, or the scale run's million).
 */
async function activationRuns(t: Target, bare: Running, server: Running, label = t.engine) {
  // Many large codes, so seat limits and per-code guards never interfere with throughput.
  const seeded = await seed(t.database.knex, 200, { productName: 'bench', seats: 1_000_000, keep: 0 });
  const codes = (await t.database.knex('codes').where({ product_id: seeded.productId, seats: 1_000_000 }).select('code')).map((r: { code: string }) => r.code);
  const nextCode = cycle(codes);
  const body = () => ({ code: nextCode(), fingerprint: benchFingerprint(`activation-${process.pid}-${machinesMade++}`) });
  for (const connections of CONNECTIONS) {
    const b = await load(`${bare.url}/v1/heartbeat`, connections, SECONDS, body);
    const a = await load(`${server.url}/v1/activations`, connections, SECONDS, body);
    const bad = a.non2xx + a.errors;
    console.log(row([label, connections, fmt(b.rps), b.p50, b.p99, fmt(a.rps), a.p50, a.p99, fmt(a.rps / b.rps, 2)], W) + (bad ? `  (${bad} non-2xx/errors)` : ''));
  }
}

/**
 * Seeded activations of the beaten product spread over the whole table, not only the first
 * thousand. Seeded ones only (their codes have one seat): the machines the activation runs brought
 * have fingerprints of their own.
 */
async function spreadActivations(t: Target, productId: string): Promise<string[]> {
  const knex = t.database.knex;
  const seededCodes = knex('codes').select('id').where({ product_id: productId, seats: 1 });
  return (await knex('activations').select('id').whereIn('code_id', seededCodes).orderByRaw('random()').limit(1000)).map((r: { id: string }) => r.id);
}

/**
 * The sweeper expiring 100,000 codes at once: alone through the CLI, then inside a running server
 * (where it normally runs) while heartbeats load it, reporting their p99 during the sweep.
 */
async function sweeperRuns(t: Target, spread: string[]) {
  console.log(`\n== sweeper: 100,000 codes expire at once, ${t.engine} ==`);
  await seed(t.database.knex, 100_000, { productName: 'bench-expiring-cli', expiresAt: Date.now() - 1000, keep: 0 });
  await atRest(t);
  const started = Date.now();
  const cli = await cliSweep(t);
  console.log(
    `licensor sweep (CLI, nothing else running): ${cli.expired.toLocaleString('en')} codes expired in ${fmt(cli.ms / 1000, 2)} s ` +
      `(${fmt((Date.now() - started) / 1000, 2)} s with the process start)`,
  );

  // LICENSOR_RELEASE_EXPIRED_AFTER_DAYS: a cohort that expired together is released together.
  await seed(t.database.knex, 100_000, { productName: 'bench-releasing', status: 'expired', expiresAt: Date.now() - 40 * 86_400_000, keep: 0 });
  await atRest(t);
  const released = await cliSweep(t, { LICENSOR_RELEASE_EXPIRED_AFTER_DAYS: '30' });
  console.log(`licensor sweep (CLI), releasing codes 30 days after they expired: ${released.released.toLocaleString('en')} codes, each with its live machine, in ${fmt(released.ms / 1000, 2)} s`);

  await sweepInServer(t, spread, 'bench-expiring', 'under 16 connections of heartbeats, as fast as it answers them');
  // Saturating load leaves the sweep whatever share of the cores the scheduler gives it; a steady,
  // heavy rate (a fleet of millions beating hourly) shows whether the sweep stalls the beats.
  await sweepInServer(t, spread, 'bench-expiring-steady', `under a steady ${STEADY_BEATS.toLocaleString('en')} heartbeats a second`, STEADY_BEATS);
}

/** `licensor sweep --json` on the target's database: its report, with how long the sweep took. */
async function cliSweep(t: Target, env: Record<string, string> = {}): Promise<{ expired: number; released: number; ms: number }> {
  const { stdout } = await run(process.execPath, [BIN, 'sweep', '--json'], { env: { ...process.env, ...t.env, ...env }, maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as { expired: number; released: number; ms: number };
}

/**
 * The database as it is when a cohort falls due: its codes were written months before, so their
 * pages are on disk and vacuumed. Right after seeding, the checkpointer was still writing the
 * seed's hundreds of megabytes and autovacuum was about to read them, both during the sweep (a
 * checkpoint every 12–30 s while seeding, in PostgreSQL's log).
 */
async function atRest(t: Target): Promise<void> {
  if (t.engine === 'postgres') {
    await t.database.knex.raw('VACUUM (ANALYZE) codes, activations, activation_anchors');
    await t.database.knex.raw('CHECKPOINT');
  } else {
    await t.database.knex.raw('PRAGMA wal_checkpoint(TRUNCATE)');
  }
}

/** Heartbeats a second of the steady-load sweep: about a third of what the server answers here. */
const STEADY_BEATS = 2000;

/** 100,000 codes come due in a running server while heartbeats load it; the server's own log line is the figure. */
async function sweepInServer(t: Target, spread: string[], productName: string, how: string, rate?: number) {
  const expiring = await seed(t.database.knex, 100_000, { productName, expiresAt: Date.now() - 1000, keep: 0 });
  await atRest(t);
  const server = await startProcess([BIN, 'serve'], { ...t.env, LICENSOR_SWEEP_INTERVAL_SECONDS: '1', LICENSOR_LOG_LEVEL: 'info' });
  // Nothing here reads the database meanwhile (this process is also the load generator).
  const sweepLog = server.waitForLine(/sweeper changed codes or seats/, 120_000);
  const beats = await load(`${server.url}/v1/heartbeat`, 16, Math.max(SECONDS, 10), beatsOf(spread), NONCE, rate);
  const logged = await sweepLog;
  const sweep = logged ? (JSON.parse(logged) as { ms: number; sweep: { expired: number } }) : null;
  const left = await t.database.knex('codes').where({ product_id: expiring.productId }).whereNot({ status: 'expired' }).count({ n: '*' }).first();
  console.log(
    `in the server ${how}: the sweep ` +
      (sweep ? `expired ${sweep.sweep.expired.toLocaleString('en')} codes in ${fmt(sweep.ms / 1000, 2)} s` : 'was not logged') +
      ` (${Number((left as { n: number | string }).n).toLocaleString('en')} of the 100,000 left unexpired after the run); ` +
      `heartbeats meanwhile ${fmt(beats.rps)} r/s, p50 ${beats.p50} ms, p99 ${beats.p99} ms, ${beats.non2xx + beats.errors} non-2xx/errors`,
  );
  await server.stop();
}

async function main() {
  console.log(`licensor heartbeat benchmark: ${SECONDS}s per run, node ${process.version}, ${process.platform}/${process.arch}`);
  const bare = await startProcess([join(__dirname, 'bare-express.js')]);
  const classes = await startProcess([join(__dirname, 'bare-express.js'), '--express-classes']);
  try {
    for (const engine of ENGINES) {
      const t = await target(engine).catch((err) => {
        console.log(`(${engine}: not available: ${err.message})`);
        return null;
      });
      if (!t) continue;
      try {
        const small = await seed(t.database.knex, 1000, { productName: 'bench' });
        const server = await startProcess([BIN, 'serve'], t.env);
        if (PHASES.has('heartbeat')) {
          console.log(`\n== heartbeat, ${engine}, 1,000 codes ==\n${HEADER}`);
          await heartbeatRuns(t, bare, server, small.activations, true, t.engine, classes);
          console.log(`server peak RSS after the runs: ${fmt(peakRssMiB(server.child.pid!) ?? NaN, 1)} MiB`);
          // Every beat a database read: what activations beyond LICENSOR_HEARTBEAT_CACHE_ENTRIES get.
          const uncached = await startProcess([BIN, 'serve'], { ...t.env, LICENSOR_HEARTBEAT_CACHE_ENTRIES: '0' });
          console.log(`-- the same with the heartbeat view cache off --`);
          await heartbeatRuns(t, bare, uncached, small.activations, false, 'no cache');
          await uncached.stop();
        }
        if (PHASES.has('activation')) {
          console.log(`\n== activation, ${engine}, 1,000 codes (ratio against the bare route) ==\n${ACTIVATION_HEADER}`);
          await activationRuns(t, bare, server);
        }
        await server.stop();

        if (PHASES.has('scale')) {
          const started = Date.now();
          await seed(t.database.knex, SCALE - 1000, { productName: 'bench', keep: 0 });
          console.log(`\n== heartbeat, ${engine}, ${SCALE.toLocaleString('en')} codes (seeded in ${fmt((Date.now() - started) / 1000, 1)} s) ==\n${HEADER}`);
          const big = await startProcess([BIN, 'serve'], t.env);
          await heartbeatRuns(t, bare, big, await spreadActivations(t, small.productId));
          if (PHASES.has('activation')) {
            console.log(`-- activation with ${SCALE.toLocaleString('en')} live activations of the product --\n${ACTIVATION_HEADER}`);
            await activationRuns(t, bare, big);
          }
          await big.stop();
        }
        if (PHASES.has('sweeper')) await sweeperRuns(t, await spreadActivations(t, small.productId));
      } finally {
        await t.cleanup();
      }
    }
  } finally {
    await bare.stop();
    await classes.stop();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
