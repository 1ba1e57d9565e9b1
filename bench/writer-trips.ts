/**
 * Where a SQLite transaction's time goes, preloaded into a licensor server by the heartbeat
 * benchmark when BENCH_WRITER_TRIPS=<dir> is set (`node --require dist/bench/writer-trips.js`).
 *
 * node-sqlite3 runs each statement as a trip through libuv's thread pool and back through the event
 * loop, and a transaction holds the one writer connection from its BEGIN to its COMMIT. This times
 * every call on a connection from its issue to its callback ("in the driver": the thread pool's
 * queue, SQLite's own work, the wait for the event loop) and the time between a callback and the
 * next call (the main thread's own work while the writer is held). At exit it writes, per shape of
 * transaction (its statements' first words), the medians to <dir>/writer-trips-<pid>.json for the
 * benchmark to print. Timing adds a microsecond or two a call: use it to see where the time goes,
 * not for the figures.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

type Callback = (...args: unknown[]) => unknown;

interface Open {
  start: number;
  lastDone: number;
  between: number;
  calls: Array<{ sql: string; us: number }>;
}

export interface TransactionShape {
  statements: string[];
  count: number;
  heldUs: number;
  inDriverUs: number;
  betweenUs: number;
  /** Median issue-to-callback time of each statement, in order. */
  statementUs: number[];
}

const dir = process.env.BENCH_WRITER_TRIPS;
const nowUs = () => Number(process.hrtime.bigint()) / 1000;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/**
 * A statement's first words, enough to tell the statements of a transaction apart; of several
 * sent in one call (the writes and COMMIT, src/storage/direct-sql.ts), each one's, joined by " + ".
 */
function head(sql: string): string {
  return sql.split(';\n').map(firstWords).join(' + ');
}

function firstWords(sql: string): string {
  // Identifier quotes (a backtick, \x60, or a double quote) and semicolons dropped.
  return sql
    .replace(/[\x60";]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .split(' ')
    .slice(0, 3)
    .join(' ');
}

function install(sqlite3: typeof import('sqlite3')): void {
  const open = new WeakMap<object, Open>();
  const done = new Map<string, Array<{ held: number; between: number; calls: number[] }>>();
  const connectionOf = new WeakMap<object, object>();
  const sqlOf = new WeakMap<object, string>();

  const timed = (connection: object | undefined, sql: string, args: unknown[]): void => {
    if (connection === undefined) return;
    const issued = nowUs();
    if (/^\s*BEGIN\b/i.test(sql)) open.set(connection, { start: issued, lastDone: issued, between: 0, calls: [] });
    const current = open.get(connection);
    if (current) current.between += issued - current.lastDone;
    const at = args.findIndex((a) => typeof a === 'function');
    if (at < 0 || !current) return;
    const callback = args[at] as Callback;
    args[at] = function (this: unknown, ...results: unknown[]) {
      const finished = nowUs();
      current.calls.push({ sql, us: finished - issued });
      current.lastDone = finished;
      if (/(^|;)\s*(COMMIT|ROLLBACK)\s*;?\s*$/i.test(sql) && open.get(connection) === current) {
        open.delete(connection);
        const shape = current.calls.map((c) => head(c.sql)).join(' | ');
        const list = done.get(shape) ?? [];
        list.push({ held: finished - current.start, between: current.between, calls: current.calls.map((c) => c.us) });
        done.set(shape, list);
      }
      return callback.apply(this, results);
    };
  };

  const database = sqlite3.Database.prototype as unknown as Record<string, Callback>;
  const statement = sqlite3.Statement.prototype as unknown as Record<string, Callback>;
  const prepare = database.prepare!;
  database.prepare = function (this: object, sql: unknown, ...rest: unknown[]) {
    const made = prepare.call(this, sql, ...rest) as object;
    connectionOf.set(made, this);
    sqlOf.set(made, String(sql));
    return made;
  };
  for (const method of ['exec', 'run', 'all', 'get']) {
    const original = database[method]!;
    database[method] = function (this: object, ...args: unknown[]) {
      timed(this, String(args[0]), args);
      return original.apply(this, args);
    };
  }
  for (const method of ['run', 'all', 'get']) {
    const original = statement[method]!;
    statement[method] = function (this: object, ...args: unknown[]) {
      // Statements the driver makes for Database#all and #run are timed there, not here.
      timed(connectionOf.get(this), sqlOf.get(this) ?? '', args);
      return original.apply(this, args);
    };
  }

  process.on('exit', () => {
    const shapes: TransactionShape[] = [...done.entries()]
      .map(([shape, list]) => ({
        statements: shape.split(' | '),
        count: list.length,
        heldUs: median(list.map((t) => t.held)),
        inDriverUs: median(list.map((t) => t.calls.reduce((a, b) => a + b, 0))),
        betweenUs: median(list.map((t) => t.between)),
        statementUs: list[0]!.calls.map((_, i) => median(list.map((t) => t.calls[i]!))),
      }))
      .sort((a, b) => b.count - a.count);
    mkdirSync(dir!, { recursive: true });
    writeFileSync(join(dir!, `writer-trips-${process.pid}.json`), JSON.stringify(shapes));
  });
}

if (dir) {
  try {
    // The server's own copy of the driver, resolved as its storage layer resolves it.
    install(createRequire(__filename)('sqlite3') as typeof import('sqlite3'));
  } catch {
    // A process without sqlite3 has no writer to time.
  }
}
