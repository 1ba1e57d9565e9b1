import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import knex, { type Knex } from 'knex';
import pg from 'pg';
import sqlite3 from 'sqlite3';
import { limitWrittenIn } from './row-limits';
import { SqliteCheckpointer, WRITER_CHECKPOINT_PAGES } from './sqlite-checkpoint';

export type Engine = 'sqlite' | 'postgres';

/** Which engine a knex instance (or transaction) talks to: where SQL must differ, it asks this. */
export function engineOf(db: { client: Knex.Client }): Engine {
  return db.client.config.client === 'pg' ? 'postgres' : 'sqlite';
}

interface DatabaseOptions {
  /** `postgres://…`, or undefined for the embedded SQLite file. */
  databaseUrl?: string;
  sqliteFile: string;
  poolMax?: number;
  /** Where the driver's own warnings go (connection errors while the database is away); default: stderr. */
  log?: (level: 'warn' | 'error', message: string) => void;
  /** SQLite: how often the background checkpoint runs (sqlite-checkpoint.ts); 0 runs none, and the writer checkpoints alone. */
  checkpointIntervalMs?: number;
}

function driverLog(options: DatabaseOptions): Knex.Config['log'] {
  if (!options.log) return undefined;
  const log = options.log;
  const text = (m: unknown) => (m instanceof Error ? m.message : String(m));
  return { warn: (m: unknown) => log('warn', text(m)), error: (m: unknown) => log('error', text(m)), deprecate: () => undefined, debug: () => undefined };
}

export interface Database {
  knex: Knex;
  options: DatabaseOptions;
  engine: Engine;
  /** Where the data lives, without credentials, for start-up messages. */
  location: string;
  /** SQLite: what copies the WAL into the database file, off the writer's commits (absent on PostgreSQL, or when switched off). */
  checkpointer?: SqliteCheckpointer;
  close(): Promise<void>;
}

const INT8_OID = 20;

/** Millisecond timestamps are BIGINT; pg returns those as strings unless told otherwise. */
export const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/** The data directory and every file licensor keeps in it: the owner's alone (docs/deploy.md "Signing keys at rest"). */
export const OWNER_ONLY_DIRECTORY = 0o700;
export const OWNER_ONLY_FILE = 0o600;

/** The SQLite file and the files SQLite keeps beside it. */
export function sqliteFiles(file: string): string[] {
  return [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
}

export function openDatabase(options: DatabaseOptions): Database {
  if (options.databaseUrl) {
    const url = new URL(options.databaseUrl);
    const poolMax = options.poolMax ?? 10;
    const pgKnex = knex({
      client: 'pg',
      // Pipelined: a statement can go out before the one ahead has answered (direct-sql.ts sends a
      // transaction's BEGIN with its first statement and its last writes with its COMMIT). Knex's
      // own statements wait for each answer as before.
      connection: { connectionString: options.databaseUrl, types: pgTypes, pipeline: true } as Knex.PgConnectionConfig,
      pool: {
        min: 0,
        max: poolMax,
        afterCreate(conn: pg.Client, done: (err: Error | null, conn: unknown) => void) {
          nameStatements(conn);
          done(null, conn);
        },
      },
      log: driverLog(options),
    });
    return { engine: 'postgres', location: `postgres://${url.host}${url.pathname}`, knex: pgKnex, options, close: () => pgKnex.destroy() };
  }
  mkdirSync(dirname(options.sqliteFile), { recursive: true, mode: OWNER_ONLY_DIRECTORY });
  // SQLite creates its file 0644, and its -wal and -shm with the mode the database file has: an
  // empty file made owner-only first is taken as a new database, and every companion follows it
  // (measured: 0600 for all three, where SQLite alone made 0644).
  closeSync(openSync(options.sqliteFile, 'a', OWNER_ONLY_FILE));
  // One writer connection: SQLite has one writer anyway, and this serialises our transactions in-process.
  // WAL lets readers run beside the writer; synchronous=NORMAL is durable across process crashes;
  // busy_timeout lets the CLI and the server share the file. A 32 MiB page cache (the default is
  // 2 MiB) keeps a bulk write's index pages in memory (docs/performance.md#bulk-changes-are-one-statement-a-batch).
  // Checkpoints run beside the writer (sqlite-checkpoint.ts); its own is the bound behind them.
  const checkpointer =
    options.checkpointIntervalMs === 0 ? undefined : new SqliteCheckpointer(options.sqliteFile, options.checkpointIntervalMs, checkpointFailed(options));
  const writer = sqliteKnex(
    options,
    'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768;' +
      (checkpointer ? ` PRAGMA wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES};` : ''),
  );
  return {
    engine: 'sqlite',
    location: options.sqliteFile,
    knex: writer,
    options,
    checkpointer,
    async close() {
      await writer.destroy();
      await checkpointer?.close();
    },
  };
}

type SqliteConnection = sqlite3.Database;

/** A background checkpoint that failed is said where the driver's warnings go; the writer's own checkpoint still bounds the WAL. */
function checkpointFailed(options: DatabaseOptions): (err: unknown) => void {
  return (err) => {
    const message = `background checkpoint failed: ${err instanceof Error ? err.message : String(err)}`;
    if (options.log) options.log('warn', message);
    else console.warn(message);
  };
}

/** Statement texts named per PostgreSQL connection; texts beyond these are sent unnamed, as before. */
const STATEMENTS_NAMED = 500;

/**
 * Statements with more values than this are bulk writes (the sweeper's, the heartbeat flush's),
 * whose texts change with their row counts: named, each would keep a large plan in the server's
 * session for nothing. An activation's statements bind at most a few dozen.
 */
const NAMED_VALUES_AT_MOST = 64;

/**
 * Names the parameterised statements sent on a PostgreSQL connection, as keepStatementsPrepared
 * does for SQLite's: the server parses and plans a named statement once per connection, and the
 * driver sends only Bind and Execute after
 * (docs/performance.md#an-activation-asks-the-database-few-questions).
 *
 * Not named: statements without parameters (BEGIN, COMMIT, DDL, several statements in one text:
 * the simple protocol, as before); bulk statements; texts past the limit; texts that read `*`,
 * whose result type a later migration could change under a statement prepared before it
 * (PostgreSQL then refuses it: "cached plan must not change result type"), where named ones list
 * their columns. A statement the server refused is not recorded as prepared (the driver records
 * it on ParseComplete) and is parsed again at its next use.
 */
export function nameStatements(conn: pg.Client, limit = STATEMENTS_NAMED): void {
  const names = new Map<string, string>();
  const query = conn.query.bind(conn) as (...args: unknown[]) => unknown;
  (conn as unknown as { query: (...args: unknown[]) => unknown }).query = (config: unknown, ...rest: unknown[]) => {
    const c = config as { text?: unknown; name?: unknown; values?: unknown } | null;
    if (
      c !== null &&
      typeof c === 'object' &&
      typeof c.text === 'string' &&
      c.name === undefined &&
      Array.isArray(c.values) &&
      c.values.length > 0 &&
      c.values.length <= NAMED_VALUES_AT_MOST
    ) {
      let name = names.get(c.text);
      if (name === undefined && names.size < limit && !READS_STAR.test(c.text)) names.set(c.text, (name = `licensor_${names.size}`));
      if (name !== undefined) return query({ ...c, name }, ...rest);
    }
    return query(config, ...rest);
  };
}

/** A `*` that is not `count(*)`: `SELECT *`, `RETURNING *`, `table.*`. */
const READS_STAR = /(^|[^(])\*/;

/** Prepared statements kept per SQLite connection (LRU); more distinct texts than this are prepared again. */
const STATEMENTS_KEPT = 500;

/**
 * Keeps knex's reading statements prepared on the connection. node-sqlite3 runs `Database#all` as
 * a prepare and a step, each a trip through libuv's thread pool, and finalises the statement
 * after; a statement kept prepared costs one trip
 * (docs/performance.md#an-activation-asks-the-database-few-questions). Knex's sqlite3 dialect calls `all` for selects, raw SQL and writes that return
 * rows, with the arguments a Statement takes; `all` steps to the end, so a kept statement holds
 * no lock between uses. `run` (writes that return nothing) stays as it was: it steps once and
 * relies on the finalise to end a statement that yields a row. A statement that fails to prepare
 * reports its error as before and is not kept.
 */
function keepStatementsPrepared(conn: sqlite3.Database): void {
  const kept = new Map<string, sqlite3.Statement>();
  const keep = (sql: string, statement: sqlite3.Statement) => {
    kept.set(sql, statement);
    if (kept.size > STATEMENTS_KEPT) {
      const [oldest, dropped] = kept.entries().next().value!;
      kept.delete(oldest);
      // Queued behind any call still running on it.
      dropped.finalize();
    }
  };
  type Callback = (this: sqlite3.Statement, err: Error | null, result?: unknown) => void;
  for (const method of ['all'] as const) {
    const original = conn[method].bind(conn) as (sql: string, bindings: unknown[], done: Callback) => sqlite3.Database;
    const run = (statement: sqlite3.Statement, bindings: unknown[], done: Callback) =>
      statement[method](bindings, function (this: sqlite3.Statement, err: Error | null, result?: unknown) {
        // A failed step leaves the statement mid-way: reset it so it holds no lock until its next use.
        if (err) statement.reset();
        done.call(this, err, result);
      });
    (conn as unknown as Record<string, unknown>)[method] = (given: string, bindings: unknown[] | undefined, done: Callback) => {
      // EXPLAIN of a write is left in progress after its last row (a COMMIT after it fails), and
      // neither it nor a PRAGMA repeats on a hot path: both prepared once and finalised, as before.
      if (/^\s*(EXPLAIN|PRAGMA)\b/i.test(given)) return original(given, bindings ?? [], done);
      // A bound row limit would make SQLite compile the kept statement again at its next run.
      const { sql, bindings: params } = limitWrittenIn(given, bindings ?? []);
      const cached = kept.get(sql);
      if (cached) {
        kept.delete(sql);
        kept.set(sql, cached);
        run(cached, params, done);
        return conn;
      }
      const statement: sqlite3.Statement = conn.prepare(sql, (err: Error | null) => {
        if (err) {
          done.call(statement, err);
          return;
        }
        if (!kept.has(sql)) keep(sql, statement);
        run(statement, params, done);
        // Prepared twice meanwhile: this one serves its call only.
        if (kept.get(sql) !== statement) statement.finalize();
      });
      return conn;
    };
  }
}

function sqliteKnex(options: DatabaseOptions, pragmas: string): Knex {
  return knex({
    client: 'sqlite3',
    connection: { filename: options.sqliteFile },
    log: driverLog(options),
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) {
        keepStatementsPrepared(conn);
        conn.exec(pragmas, (err) => done(err, conn));
      },
    },
  });
}

/**
 * A read-only connection to the SQLite file beside the knex writer (the heartbeat read, the view
 * change feed): in WAL mode it reads while the writer writes, and waits out the CLI's locks.
 */
export function openSqliteReader(file: string): sqlite3.Database {
  const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY);
  db.configure('busyTimeout', 10_000);
  // The change feed's read follows every commit: one trip, not two.
  keepStatementsPrepared(db);
  return db;
}

/** Unique-constraint violations on either engine. */
export function isUniqueViolation(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: string; message?: string };
  return e.code === '23505' || (e.code === 'SQLITE_CONSTRAINT' && /UNIQUE|PRIMARY KEY/i.test(e.message ?? ''));
}

/**
 * PostgreSQL refused the transaction to break a lock cycle with another (deadlock_detected) or
 * could not serialise it: the same request succeeds when asked again.
 */
export function isRetryableConflict(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const code = (err as { code?: string }).code;
  return code === '40P01' || code === '40001';
}

/** Errors that mean the database is unreachable rather than that the request was wrong. */
export function isConnectionError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: string; name?: string; message?: string };
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P03', '08006', '08001', '08003', 'SQLITE_BUSY', 'SQLITE_CANTOPEN'].includes(
      e.code ?? '',
    ) ||
    e.name === 'KnexTimeoutError' ||
    /Connection terminated|timeout acquiring a connection/i.test(e.message ?? '')
  );
}
