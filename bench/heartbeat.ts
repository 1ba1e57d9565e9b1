/**
 * Heartbeat, activation and deactivation throughput and latency against two baselines measured in
 * the same run (the ratio is the figure: these machines are shared and noisy): a bare Express
 * route (bare-express.ts; also on a server with Express's classes from birth) and the least work
 * each operation must do on Node: the floor of a signed-lease heartbeat (heartbeat-floor.ts), and
 * of an activation and a deactivation on the same engine (activation-floor.ts); on SQLite and
 * PostgreSQL; with 1,000 codes, and with BENCH_SCALE codes in the `scale` phase; the sweeper
 * expiring 100,000 codes alone, under saturating heartbeat load and under a steady rate, and
 * releasing 100,000 long-expired ones; the server's peak RSS. Prints figures; never passes or
 * fails on time. docs/performance.md has the current figures and how to read them.
 *
 * What is compared runs in turns (support.ts inTurns): licensor and its baselines a second each,
 * BENCH_SECONDS rounds (deactivations: five rounds of a fifth of the run's seats each), so that a
 * busy stretch of the machine falls on all of them.
 *
 *   npm run bench:heartbeat   (BENCH_SECONDS=5 BENCH_WARMUP_SECONDS=3 BENCH_ENGINES=sqlite,postgres
 *                              BENCH_PHASES=heartbeat,activation,sweeper BENCH_CONNECTIONS=1,16,64)
 *   npm run bench:large       (BENCH_PHASES=activation,scale BENCH_SCALE=1000000: seeds a million
 *                              codes per engine, printing its progress)
 *
 * BENCH_CPU_PROFILE=<dir> has every process write a CPU profile there (bench/profile-summary.ts).
 * BENCH_WRITER_TRIPS=<dir> times the SQLite writer's transactions in the 1,000-code server and
 * prints where their time goes (bench/writer-trips.ts). On PostgreSQL, each activation and
 * deactivation table is followed by the WAL written and the CPU PostgreSQL spent per answer
 * (bench/postgres-wal.ts).
 * BENCH_SERVER_NODE_ARGS="--flag …" gives Node options to licensor's servers and not to the
 * baselines (a V8 flag on trial).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openDatabase, type Database } from '../src/storage/database';
import { migrateToLatest } from '../src/storage/migrate';
import { createTestDatabase, type EngineName } from '../test/support/databases';
import { randomBytes } from 'node:crypto';
import { mergedWal, walCell, walDuring, type WalFigures } from './postgres-wal';
import { benchFingerprint, benchSecret, seed } from './seed';
import type { TransactionShape } from './writer-trips';
import {
  cpuCell,
  failuresNote,
  fmt,
  inTurns,
  load,
  loadRequests,
  merged,
  peakRssMiB,
  pinnedApart,
  ROOT,
  row,
  startProcess,
  withServerCpu,
  type CpuPerAnswer,
  type LoadResult,
  type Running,
} from './support';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** A deactivation run's turns (inTurns): each frees a fifth of the run's seats. */
const DEACTIVATION_TURNS = 5;
const SCALE = Number(process.env.BENCH_SCALE ?? 1_000_000);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const ENGINES = (process.env.BENCH_ENGINES ?? 'sqlite,postgres').split(',');
const PHASES = new Set((process.env.BENCH_PHASES ?? 'heartbeat,activation,sweeper').split(','));
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

const W = [10, 6, 10, 9, 9, 10, 9, 9, 7, 9];
const HEADER = row(['engine', 'conns', 'bare r/s', 'p50 ms', 'p99 ms', 'beat r/s', 'p50 ms', 'p99 ms', 'ratio', 'p99 ratio'], W);
const FLOOR_HEADER = row(['engine', 'conns', 'floor r/s', 'p50 ms', 'p99 ms', 'beat r/s', 'p50 ms', 'p99 ms', 'ratio', 'p99 ratio'], W);
const ACTIVATION_HEADER = row(['engine', 'conns', 'bare r/s', 'p50 ms', 'p99 ms', 'act r/s', 'p50 ms', 'p99 ms', 'ratio', 'p99 ratio'], W);
const DEACTIVATION_HEADER = row(['engine', 'conns', 'bare r/s', 'p50 ms', 'p99 ms', 'deact r/s', 'p50 ms', 'p99 ms', 'ratio', 'p99 ratio'], W);
const FLOOR_ACTIVATION_HEADER = row(['engine', 'conns', 'floor r/s', 'p50 ms', 'p99 ms', 'act r/s', 'p50 ms', 'p99 ms', 'ratio', 'p99 ratio'], W);
const FLOOR_DEACTIVATION_HEADER = row(['engine', 'conns', 'floor r/s', 'p50 ms', 'p99 ms', 'deact r/s', 'p50 ms', 'p99 ms', 'ratio', 'p99 ratio'], W);

/** A row of a measured route against its baseline: throughput ratio, and p99 as a multiple of the baseline's. */
function against(label: string, connections: number, base: LoadResult, measured: LoadResult, notes: string[] = []): string {
  const all = [...notes, failuresNote(measured)].filter(Boolean);
  return (
    row(
      [
        label,
        connections,
        fmt(base.rps),
        base.p50,
        base.p99,
        fmt(measured.rps),
        measured.p50,
        measured.p99,
        fmt(measured.rps / base.rps, 2),
        fmt(measured.p99 / base.p99, 1),
      ],
      W,
    ) + (all.length ? `  (${all.join('; ')})` : '')
  );
}

function cycle<T>(items: T[]): () => T {
  let i = 0;
  return () => items[i++ % items.length]!;
}

/** Heartbeat bodies of these seeded activations in turn, each with its machine's fingerprint (bench/seed.ts). */
function beatsOf(activations: string[]): () => { activationId: string; secret: string; fingerprint: Record<string, string | string[]> } {
  const beats = activations.map((activationId) => ({ activationId, secret: benchSecret(activationId), fingerprint: benchFingerprint(activationId) }));
  return cycle(beats);
}

/** A fresh nonce per request, as the client sends (client/src: 16 random bytes). */
const NONCE = () => ({ 'licensor-nonce': randomBytes(16).toString('base64url') });

/**
 * `withoutNonce` also measures beats sent without a nonce, whose answers the server signs a
 * second time (body signature besides the token): the cost the token-carried nonce avoids.
 * `classes`, when given, is the bare route on a server with Express's classes from birth
 * (bare-express.ts), measured in the same runs; its row's ratio is licensor's against it.
 * `floor`, when given, is the least a signed-lease heartbeat can do (heartbeat-floor.ts), measured
 * in the same runs with the same bodies and fresh nonces; its rows are printed after the table.
 */
async function heartbeatRuns(
  t: Target,
  bare: Running,
  server: Running,
  activations: string[],
  options: { withoutNonce?: boolean; label?: string; classes?: Running; floor?: Running } = {},
) {
  const { withoutNonce = false, label = t.engine, classes, floor } = options;
  const body = beatsOf(activations);
  const floorRows: string[] = [];
  const cpuRows: string[] = [];
  for (const connections of CONNECTIONS) {
    const runs = async () => {
      // A warm-up of each (licensor has far more code for the JIT to settle), then the measured runs.
      await load(`${bare.url}/v1/heartbeat`, connections, WARMUP_SECONDS, body);
      if (classes) await load(`${classes.url}/v1/heartbeat`, connections, WARMUP_SECONDS, body);
      if (floor) await load(`${floor.url}/v1/heartbeat`, connections, WARMUP_SECONDS, body, NONCE);
      await load(`${server.url}/v1/heartbeat`, connections, WARMUP_SECONDS, body, NONCE);
      // In turns of a second each (inTurns), so that a busy stretch of the machine falls on all of them.
      const turn =
        (running: Running, headers: typeof NONCE | Record<string, string> = {}) =>
        () =>
          withServerCpu(running.child.pid!, () => load(`${running.url}/v1/heartbeat`, connections, 1, body, headers));
      const loads: Record<string, ReturnType<typeof turn>> = { b: turn(bare), h: turn(server, NONCE) };
      if (classes) loads.c = turn(classes);
      if (floor) loads.f = turn(floor, NONCE);
      // Beats without a nonce, answered twice signed (below).
      if (withoutNonce) loads.u = turn(server);
      const turns = await inTurns(loads, SECONDS);
      const of = (key: string) => (turns[key] ? merged(turns[key]) : null);
      return { b: of('b')!, c: of('c'), f: of('f'), h: of('h')!, u: of('u') };
    };
    // One connection is pure latency: pinned apart (support.ts); more use both cores, as in production.
    const pinnable = [bare, ...(classes ? [classes] : []), ...(floor ? [floor] : []), server];
    const { result, pinned } = connections === 1 ? await pinnedApart(pinnable, runs) : { result: await runs(), pinned: false };
    const { b, c, f, h, u } = result;
    const notes = pinned ? ['server and load generator on a core each'] : [];
    console.log(against(label, connections, b, h, notes));
    if (c)
      console.log(
        row(['classes', connections, fmt(c.rps), c.p50, c.p99, '', '', '', fmt(h.rps / c.rps, 2), fmt(h.p99 / c.p99, 1)], W) +
          '  (bare route with Express classes from birth; ratio against it)',
      );
    if (u)
      console.log(
        row(['no nonce', connections, '', '', '', fmt(u.rps), u.p50, u.p99, fmt(u.rps / b.rps, 2), fmt(u.p99 / b.p99, 1)], W) + '  (answer signed twice)',
      );
    if (f) floorRows.push(against(label, connections, f, h, notes));
    cpuRows.push(`  ${label}, ${connections} conns: heartbeat ${cpuCell(h.cpu)}${f ? `, floor ${cpuCell(f.cpu)}` : ''}`);
  }
  if (floorRows.length > 0)
    console.log(`-- the same beats against the floor (heartbeat-floor.ts), measured in the same runs --\n${FLOOR_HEADER}\n${floorRows.join('\n')}`);
  console.log(`-- server CPU per answer, main thread / all threads --\n${cpuRows.join('\n')}`);
}

/** Every activation run brings machines never seen before. */
let machinesMade = 0;

/** A seat an activation run took, for the deactivation runs to free: its id and the lease token that proves it. */
interface Held {
  id: string;
  token: string;
}

/**
 * New machines activating on the heartbeat product, so that looking up a machine's seat and its
 * clones runs against every live activation seeded there (1,000, or the scale run's million);
 * then those machines deactivating, each once, with the token its activation answered.
 */
async function activationRuns(t: Target, bare: Running, server: Running, label = t.engine) {
  // Many large codes, so seat limits and per-code guards never interfere with throughput.
  const seeded = await seed(t.database.knex, 200, { productName: 'bench', seats: 1_000_000, keep: 0 });
  const codes = (await t.database.knex('codes').where({ product_id: seeded.productId, seats: 1_000_000 }).select('code')).map((r: { code: string }) => r.code);
  const floor = await startActivationFloor(t, codes.length);
  const nextCode = cycle(codes);
  const nextFloorCode = cycle(codes.map((_, i) => `floor-${i}`));
  const machine = () => benchFingerprint(`activation-${process.pid}-${machinesMade++}`);
  const body = () => ({ code: nextCode(), fingerprint: machine() });
  const activating = (running: Running, held: Held[], code: () => string, connections: number, seconds: number) =>
    loadRequests(running.url, { connections, seconds, onResponse: keeping(held) }, () => ({
      path: '/v1/activations',
      body: { code: code(), fingerprint: machine() },
      // As the client asks: the answer covered by its lease token, one signature (docs/server.md "Signed answers").
      headers: { ...NONCE(), 'licensor-accept-covered': 'token' },
    }));
  const activationsOf = (running: Running, held: Held[], code: () => string) => (connections: number) => () =>
    withWal(t, () => withServerCpu(running.child.pid!, () => activating(running, held, code, connections, 1)));
  // The bare route's turn of a second beside them (inTurns), and each one's turns as one run.
  const bareTurn = (connections: number) => () =>
    withServerCpu(bare.child.pid!, () => load(`${bare.url}/v1/heartbeat`, connections, 1, body)).then((r) => ({ ...r, wal: null }));
  const asOneRun = (turns: Array<LoadResult & { cpu: CpuPerAnswer | null; wal: WalFigures | null }>) => ({
    ...merged(turns),
    wal: mergedWal(turns.map((r) => r.wal)),
  });
  const held: Held[] = [];
  const floorHeld: Held[] = [];
  const rows: string[] = [];
  const floorRows: string[] = [];
  const cpuRows: string[] = [];
  const walRows: string[] = [];
  for (const connections of CONNECTIONS) {
    const runs = async () => {
      // A warm-up of each at this connection count, as the heartbeat's: licensor has far more code
      // for the JIT to settle, and more connections take other paths (signing on the thread pool).
      await load(`${bare.url}/v1/heartbeat`, connections, WARMUP_SECONDS, body);
      await activating(floor, floorHeld, nextFloorCode, connections, WARMUP_SECONDS);
      await activating(server, held, nextCode, connections, WARMUP_SECONDS);
      // In turns of a second each (inTurns), as the heartbeat's.
      const turns = await inTurns(
        { b: bareTurn(connections), f: activationsOf(floor, floorHeld, nextFloorCode)(connections), a: activationsOf(server, held, nextCode)(connections) },
        SECONDS,
      );
      return { b: asOneRun(turns.b), f: asOneRun(turns.f), a: asOneRun(turns.a) };
    };
    const { result, pinned } = connections === 1 ? await pinnedApart([bare, floor, server], runs) : { result: await runs(), pinned: false };
    const notes = pinned ? ['server and load generator on a core each'] : [];
    rows.push(against(label, connections, result.b, result.a, notes));
    floorRows.push(against(label, connections, result.f, result.a, [`floor ${fmt(result.f.rps / result.b.rps, 2)}× the bare route`, ...notes]));
    cpuRows.push(`  ${label}, ${connections} conns: activation ${cpuCell(result.a.cpu)}, floor ${cpuCell(result.f.cpu)}, bare route ${cpuCell(result.b.cpu)}`);
    if (result.a.wal && result.f.wal)
      walRows.push(`  ${label}, ${connections} conns: activation ${walCell(result.a.wal, result.a.answers)}; floor ${walCell(result.f.wal, result.f.answers)}`);
  }
  console.log(`${ACTIVATION_HEADER}\n${rows.join('\n')}`);
  console.log(
    `-- the same activations against their floor (activation-floor.ts), measured in the same runs --\n${FLOOR_ACTIVATION_HEADER}\n${floorRows.join('\n')}`,
  );

  // As many deactivations per run as the activations made allow: each frees a seat once. Each run
  // has a warm-up before it of a quarter as many.
  const perRun = Math.floor(Math.min(held.length, floorHeld.length) / (CONNECTIONS.length * 1.25));
  const warmUp = Math.floor(perRun / 4);
  // A run's deactivations in turns (inTurns), a fifth each.
  const perTurn = Math.floor(perRun / DEACTIVATION_TURNS);
  const deactivationsOf = (running: Running, held: Held[]) => {
    const next = cycle(held);
    const deactivating = (connections: number, amount: number) =>
      loadRequests(running.url, { connections, amount }, () => {
        const h = next();
        return { method: 'DELETE', path: `/v1/activations/${h.id}`, headers: { authorization: `Bearer ${h.token}`, ...NONCE() } };
      });
    return (connections: number) => ({
      warm: () => deactivating(connections, warmUp),
      turn: () => withWal(t, () => withServerCpu(running.child.pid!, () => deactivating(connections, perTurn))),
    });
  };
  const deactivations = deactivationsOf(server, held);
  const floorDeactivations = deactivationsOf(floor, floorHeld);
  const deactivationRows: string[] = [];
  const floorDeactivationRows: string[] = [];
  for (const connections of CONNECTIONS) {
    if (perTurn < connections) break;
    const freed = perTurn * DEACTIVATION_TURNS;
    const runs = async () => {
      await load(`${bare.url}/v1/heartbeat`, connections, WARMUP_SECONDS, body);
      if (warmUp >= connections) {
        await floorDeactivations(connections).warm();
        await deactivations(connections).warm();
      }
      // In turns, as the activations' (a fifth of the run's deactivations each); the bare route's a second each.
      const turns = await inTurns(
        { b: bareTurn(connections), f: floorDeactivations(connections).turn, d: deactivations(connections).turn },
        DEACTIVATION_TURNS,
      );
      return { b: asOneRun(turns.b), f: asOneRun(turns.f), d: asOneRun(turns.d) };
    };
    const { result, pinned } = connections === 1 ? await pinnedApart([bare, floor, server], runs) : { result: await runs(), pinned: false };
    const notes = pinned ? ['server and load generator on a core each'] : [];
    deactivationRows.push(against(label, connections, result.b, result.d, [`${freed.toLocaleString('en')} seats freed`, ...notes]));
    floorDeactivationRows.push(against(label, connections, result.f, result.d, [`floor ${fmt(result.f.rps / result.b.rps, 2)}× the bare route`, ...notes]));
    cpuRows.push(`  ${label}, ${connections} conns: deactivation ${cpuCell(result.d.cpu)}, floor ${cpuCell(result.f.cpu)}`);
    if (result.d.wal && result.f.wal)
      walRows.push(
        `  ${label}, ${connections} conns: deactivation ${walCell(result.d.wal, result.d.answers)}; floor ${walCell(result.f.wal, result.f.answers)}`,
      );
  }
  await floor.stop();
  console.log(`-- deactivation of those machines (ratio against the bare route) --\n${DEACTIVATION_HEADER}\n${deactivationRows.join('\n')}`);
  console.log(`-- the same deactivations against their floor --\n${FLOOR_DEACTIVATION_HEADER}\n${floorDeactivationRows.join('\n')}`);
  console.log(`-- server CPU per answer, main thread / all threads --\n${cpuRows.join('\n')}`);
  if (walRows.length > 0) console.log(`-- PostgreSQL's WAL and its processes' CPU per answer (bench/postgres-wal.ts) --\n${walRows.join('\n')}`);
}

/** On PostgreSQL, the WAL the run wrote (bench/postgres-wal.ts); null elsewhere. */
async function withWal<T>(t: Target, work: () => Promise<T>): Promise<T & { wal: WalFigures | null }> {
  if (t.engine !== 'postgres') return { ...(await work()), wal: null };
  const { result, wal } = await walDuring(t.database.knex, work);
  return { ...result, wal };
}

/** Keeps the seat each 201 answer took, for the deactivation runs. */
function keeping(held: Held[]): (status: number, answer: string) => void {
  return (status, answer) => {
    if (status !== 201) return;
    const { activation, token } = JSON.parse(answer) as { activation: { id: string }; token: string };
    held.push({ id: activation.id, token });
  };
}

/** The activation floor on the target's engine: its own tables in the same PostgreSQL database, or its own SQLite file beside licensor's. */
function startActivationFloor(t: Target, codes: number): Promise<Running> {
  const where = t.engine === 'postgres' ? t.env.DATABASE_URL! : join(t.env.LICENSOR_DATA_DIR!, 'activation-floor.db');
  return startProcess([join(__dirname, 'activation-floor.js'), t.engine, where, String(codes)]);
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
  console.log(
    `licensor sweep (CLI), releasing codes 30 days after they expired: ${released.released.toLocaleString('en')} codes, each with its live machine, in ${fmt(released.ms / 1000, 2)} s`,
  );

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
 * The database as it is in service, when a cohort falls due or a fleet activates: its codes were
 * written months before, so their pages are on disk and vacuumed. Right after seeding, the
 * checkpointer was still writing the seed's hundreds of megabytes and autovacuum was about to
 * read them, both during the runs (PostgreSQL's log showed checkpoints all through the seeding).
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
      `heartbeats meanwhile ${fmt(beats.rps)} r/s, p50 ${beats.p50} ms, p99 ${beats.p99} ms, ${failuresNote(beats) || '0 non-2xx/errors'}`,
  );
  await server.stop();
}

async function main() {
  console.log(
    `licensor heartbeat benchmark: ${SECONDS}s per run, node ${process.version}, ${process.platform}/${process.arch}, ${availableParallelism()} cores, ${new Date().toISOString()}`,
  );
  const bare = await startProcess([join(__dirname, 'bare-express.js')]);
  const classes = await startProcess([join(__dirname, 'bare-express.js'), '--express-classes']);
  const floor = await startProcess([join(__dirname, 'heartbeat-floor.js')]);
  try {
    for (const engine of ENGINES) {
      const t = await target(engine).catch((err) => {
        console.log(`(${engine}: not available: ${err.message})`);
        return null;
      });
      if (!t) continue;
      try {
        const small = await seed(t.database.knex, 1000, { productName: 'bench' });
        const server = await startProcess([...serverNodeArgs(), ...writerTrips(), BIN, 'serve'], t.env);
        if (PHASES.has('heartbeat')) {
          console.log(`\n== heartbeat, ${engine}, 1,000 codes ==\n${HEADER}`);
          await heartbeatRuns(t, bare, server, small.activations, { withoutNonce: true, classes, floor });
          console.log(`server peak RSS after the runs: ${fmt(peakRssMiB(server.child.pid!) ?? NaN, 1)} MiB`);
          // Every beat a database read: what activations beyond LICENSOR_HEARTBEAT_CACHE_ENTRIES get.
          const uncached = await startProcess([BIN, 'serve'], { ...t.env, LICENSOR_HEARTBEAT_CACHE_ENTRIES: '0' });
          console.log(`-- the same with the heartbeat view cache off --`);
          await heartbeatRuns(t, bare, uncached, small.activations, { label: 'no cache' });
          await uncached.stop();
        }
        if (PHASES.has('activation')) {
          console.log(`\n== activation, ${engine}, 1,000 codes (ratio against the bare route) ==`);
          await activationRuns(t, bare, server);
        }
        await server.stop();
        printWriterTrips(server);

        if (PHASES.has('scale')) {
          const started = Date.now();
          const more = SCALE - 1000;
          console.error(`seeding ${more.toLocaleString('en')} more codes on ${engine}…`);
          await seed(t.database.knex, more, { productName: 'bench', keep: 0, onProgress: seedingProgress(engine, more, started) });
          console.error(`${engine}: seeded; vacuuming and checkpointing, as a database in service is…`);
          await atRest(t);
          console.log(`\n== heartbeat, ${engine}, ${SCALE.toLocaleString('en')} codes (seeded in ${fmt((Date.now() - started) / 1000, 1)} s) ==\n${HEADER}`);
          const big = await startProcess([...serverNodeArgs(), ...writerTrips(), BIN, 'serve'], t.env);
          await heartbeatRuns(t, bare, big, await spreadActivations(t, small.productId), { floor });
          if (PHASES.has('activation')) {
            console.log(`-- activation with ${SCALE.toLocaleString('en')} live activations of the product --`);
            await activationRuns(t, bare, big);
          }
          await big.stop();
          printWriterTrips(big);
        }
        if (PHASES.has('sweeper')) await sweeperRuns(t, await spreadActivations(t, small.productId));
      } finally {
        await t.cleanup();
      }
    }
  } finally {
    await bare.stop();
    await classes.stop();
    await floor.stop();
  }
}

const WRITER_TRIPS = process.env.BENCH_WRITER_TRIPS;

/** BENCH_SERVER_NODE_ARGS: Node options for licensor's servers only, not the baselines' (e.g. a V8 flag on trial). */
function serverNodeArgs(): string[] {
  return (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
}

function writerTrips(): string[] {
  return WRITER_TRIPS ? ['--require', join(__dirname, 'writer-trips.js')] : [];
}

/** What the stopped server's writer did per transaction, its most frequent shapes first. */
function printWriterTrips(server: Running): void {
  if (!WRITER_TRIPS) return;
  // Written at the server's exit; none from a PostgreSQL server, which has no SQLite writer.
  const file = join(WRITER_TRIPS, `writer-trips-${server.child.pid}.json`);
  if (!existsSync(file)) return;
  const shapes = JSON.parse(readFileSync(file, 'utf8')) as TransactionShape[];
  rmSync(file);
  console.log('-- the SQLite writer per transaction, medians in µs (BENCH_WRITER_TRIPS) --');
  for (const s of shapes.filter((shape) => shape.count >= 100).slice(0, 4)) {
    console.log(
      `  ${s.count.toLocaleString('en')} × ${s.statements.length} statements: held ${fmt(s.heldUs)}, in the driver's trips ${fmt(s.inDriverUs)}, between them ${fmt(s.betweenUs)}`,
    );
    console.log(`    ${s.statements.map((name, i) => `${name} ${fmt(s.statementUs[i]!)}`).join(' · ')}`);
  }
}

/** Seeding a million codes takes minutes: a line on stderr every 5 % with the rate and what is left. */
function seedingProgress(engine: string, total: number, started: number): (done: number) => void {
  const step = Math.max(1, Math.floor(total / 20));
  let next = step;
  return (done) => {
    if (done < next && done < total) return;
    next += step;
    const seconds = (Date.now() - started) / 1000;
    const rate = done / seconds;
    console.error(
      `  ${engine}: ${done.toLocaleString('en')} of ${total.toLocaleString('en')} codes seeded, ${fmt(rate)} a second, about ${fmt((total - done) / rate)} s left`,
    );
  };
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
