import { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import { engineOf } from './database';

// Knex's own transaction client is made the same way (knex/lib/execution/transaction.js,
// makeTxClient + makeKnex): a query builder over a client that hands out one connection.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const makeKnex = require('knex/lib/knex-builder/make-knex') as (client: Knex.Client) => Knex;

/** What knex's pg and sqlite3 clients hand out as a connection, as far as this module uses it. */
interface PgConnection {
  query(config: { text: string; values: readonly unknown[] }): Promise<{ rows: unknown[] }>;
  /** node-pg's protocol connection, whose socket each statement is written to. */
  connection?: { stream?: { cork?(): void; uncork?(): void } };
}
interface SqliteConnection {
  all(sql: string, bindings: readonly unknown[], done: (err: Error | null, rows: unknown[]) => void): unknown;
  /** Several statements in one trip through the thread pool, without bindings or rows. */
  exec(sql: string, done: (err: Error | null) => void): unknown;
}

/** A transaction's connection, found once: knex's transaction client hands out the same one every time. */
const connectionOf = new WeakMap<Knex.Client, PgConnection | SqliteConnection>();
/** Texts with `?` placeholders, as PostgreSQL's `$n` (knex's own conversion, done once a text). */
const positioned = new Map<string, string>();
const POSITIONED_KEPT = 1000;

/**
 * Runs a hand-written statement (`?` placeholders, identifiers both engines read alike) and
 * returns its rows. In a transaction it goes straight to the transaction's connection: the query
 * builder and knex's runner were a large share of an activation's main-thread time
 * (docs/performance.md#where-an-activations-time-goes), so the statements of the activation and
 * deactivation paths come here, after any writes waiting (sqlWrite). On SQLite the connection
 * keeps the statement prepared and on PostgreSQL names it, as for knex's own (database.ts).
 *
 * Outside a transaction it goes the same way to a connection taken from the pool for it, and
 * given back after: the guessing guard's two statements per activation, and a deactivation's
 * first read. Listeners of knex's `query` event hear it either way. A failure rejects with the
 * driver's own error, which the repository translates as it does knex's.
 */
export async function sqlRows<Row>(db: Knex | Knex.Transaction, text: string, bindings: readonly unknown[]): Promise<Row[]> {
  if (!db.isTransaction) {
    const connection = (await db.client.acquireConnection()) as PgConnection | SqliteConnection;
    try {
      return await runOn<Row>(db.client, connection, text, bindings);
    } finally {
      await db.client.releaseConnection(connection);
    }
  }
  sendDeferred(db.client);
  return onConnection<Row>(db.client, text, bindings);
}

/**
 * In a transaction of directTransaction: sends a statement now, behind the writes waiting, and
 * leaves it ahead (aheadOf), so that the next statement (the COMMIT) goes out behind it on
 * PostgreSQL, in the same round trip, and fails if it or anything before it failed. Its rows are
 * for reading after the commit: the promise never rejects unhandled, whoever awaits it sees its failure.
 */
export function sqlRowsAhead<Row>(trx: Knex.Transaction, text: string, bindings: readonly unknown[]): Promise<Row[]> {
  const rows = sqlRows<Row>(trx, text, bindings);
  sendAhead(trx.client, rows);
  return rows;
}

/** The values of the writes sent together, at most: an activation's are 40–60. */
const DEFERRED_VALUES_AT_MOST = 500;

/**
 * A write whose rows nobody reads: a plain INSERT, no RETURNING, no WITH of its own. In a
 * transaction of directTransaction it waits for the transaction's next statement (hand-written
 * or the query builder's) or its commit, and goes with the other writes waiting in one trip
 * (docs/performance.md#where-an-activations-time-goes): on PostgreSQL as one statement, each but
 * the last a data-modifying WITH; on SQLite as one text of statements, the last of them the
 * COMMIT when the commit is next (sendWritesOnSqlite). An activation's row, its anchors and its
 * audit events are one trip, not three. The database sees them in the same order, before anything
 * read or written after them, and a failure fails the statement they went with, so the
 * transaction as it would have failed here. Anywhere else (knex's own transactions, no
 * transaction) it runs now.
 */
export async function sqlWrite(db: Knex | Knex.Transaction, text: string, bindings: readonly unknown[]): Promise<void> {
  const waiting = deferredOf.get(db.client);
  // A bulk write gains nothing from company and must not take the statement past PostgreSQL's
  // 65,535 values: it goes now, after the writes waiting.
  if (waiting === undefined || waiting.reduce((n, w) => n + w.bindings.length, bindings.length) > DEFERRED_VALUES_AT_MOST) {
    await sqlRows(db, text, bindings);
    return;
  }
  waiting.push({ text, bindings });
}

interface DeferredWrite {
  text: string;
  bindings: readonly unknown[];
}

/** The writes waiting on each bound client (boundKnex): only those defer. */
const deferredOf = new WeakMap<Knex.Client, DeferredWrite[]>();

/**
 * On a bound client, the statement sent and not yet waited for: PostgreSQL's BEGIN, or the writes
 * that waited. A PostgreSQL connection pipelines (database.ts), so the next statement goes out
 * behind it at once, and waits for it before its own answer: BEGIN travels with the first
 * statement, the last writes with COMMIT, one round trip each instead of two
 * (docs/performance.md#where-an-activations-time-goes). A failure of the statement ahead is the
 * transaction's failure; PostgreSQL answers what follows it in the failed transaction with errors
 * of its own (a COMMIT with a rollback), which the statement ahead's error stands for. SQLite
 * runs a connection's calls on the thread pool in no promised order, so there the next statement
 * is sent only once the one ahead has answered, and not at all when it failed.
 */
const aheadOf = new WeakMap<Knex.Client, Promise<unknown>>();

/** Sends the writes waiting, in one trip, now; the next statement waits for it (aheadOf). */
function sendDeferred(client: Knex.Client): void {
  const waiting = deferredOf.get(client);
  if (waiting === undefined || waiting.length === 0) return;
  const writes = waiting.splice(0);
  if (engineOf({ client }) === 'sqlite') {
    sendAhead(
      client,
      afterAhead(client, () => sendWritesOnSqlite(client, writes)),
    );
    return;
  }
  const last = writes.pop()!;
  const text = writes.length === 0 ? last.text : `WITH ${writes.map((w, i) => `w${i} AS (${w.text})`).join(', ')} ${last.text}`;
  sendAhead(client, onConnection(client, text, [...writes.flatMap((w) => w.bindings), ...last.bindings]));
}

function sendAhead(client: Knex.Client, sent: Promise<unknown>): void {
  // Waited for by the next statement, or dropped with a failed transaction: never unhandled.
  sent.catch(() => undefined);
  aheadOf.set(client, sent);
}

/** What was sent ahead on `client` and not yet waited for, handed to whoever waits for it now. */
function takeAhead(client: Knex.Client): Promise<unknown> | undefined {
  const ahead = aheadOf.get(client);
  aheadOf.delete(client);
  return ahead;
}

/**
 * One statement on a transaction's connection, as it is: on PostgreSQL sent at once behind any
 * statement ahead, on SQLite once that one has answered (aheadOf).
 */
function onConnection<Row>(client: Knex.Client, text: string, bindings: readonly unknown[]): Promise<Row[]> {
  const connection = connectionOf.get(client);
  // Knex's own transactions: the connection is found at their first statement.
  if (connection === undefined) {
    return Promise.resolve(client.acquireConnection()).then((found: PgConnection | SqliteConnection) => {
      connectionOf.set(client, found);
      return runOn<Row>(client, found, text, bindings);
    });
  }
  if (engineOf({ client }) === 'sqlite') return afterAhead(client, () => runOn<Row>(client, connection, text, bindings));
  const ahead = takeAhead(client);
  const sent = runOn<Row>(client, connection, text, bindings);
  return ahead === undefined ? sent : behind(ahead, sent);
}

/**
 * SQLite: `send` now when nothing is ahead, else once what is ahead has answered, and what is sent
 * after waits for this in turn; a failure ahead is this statement's, which is then never sent.
 */
function afterAhead<T>(client: Knex.Client, send: () => Promise<T>): Promise<T> {
  const ahead = aheadOf.get(client);
  if (ahead === undefined) return send();
  const sent = ahead.then(send);
  sendAhead(client, sent);
  const settled = () => {
    if (aheadOf.get(client) === sent) aheadOf.delete(client);
  };
  sent.then(settled, settled);
  return sent;
}

async function behind<Row>(ahead: Promise<unknown>, sent: Promise<Row[]>): Promise<Row[]> {
  try {
    await ahead;
  } catch (err) {
    sent.catch(() => undefined);
    throw err;
  }
  return sent;
}

/** One statement on a connection of `client`'s, told to knex's query listeners first. */
function runOn<Row>(client: Knex.Client, connection: PgConnection | SqliteConnection, text: string, bindings: readonly unknown[]): Promise<Row[]> {
  const postgres = engineOf({ client }) === 'postgres';
  const sql = postgres ? positionedText(client, text) : text;
  client.emit('query', { method: 'raw', sql, bindings });
  if (postgres) {
    corkForThisTick(connection as PgConnection);
    return (connection as PgConnection).query({ text: sql, values: bindings }).then((result) => result.rows as Row[]);
  }
  return new Promise((resolve, reject) => {
    (connection as SqliteConnection).all(sql, bindings, (err, rows) => (err ? reject(err) : resolve(rows as Row[])));
  });
}

/** PostgreSQL connections whose socket holds back what is written until the current tick ends. */
const corked = new WeakSet<PgConnection>();

/**
 * Holds back the socket writes of `connection` until this tick's callbacks and promise jobs have
 * run, so that statements pipelined one after another (BEGIN and the code's lock; the writes, the
 * notices and COMMIT) leave in one write, not one each: node-pg writes every statement as soon as
 * it is queued, and each write is a system call on the main thread
 * (docs/performance.md#where-an-activations-time-goes). Nothing waits longer for it: an answer
 * cannot come before the event loop turns, and the writes go before it does.
 */
function corkForThisTick(connection: PgConnection): void {
  const stream = connection.connection?.stream;
  const uncork = stream?.uncork;
  if (stream?.cork === undefined || uncork === undefined || corked.has(connection)) return;
  corked.add(connection);
  stream.cork();
  process.nextTick(() => {
    corked.delete(connection);
    uncork.call(stream);
  });
}

/**
 * SQLite: the writes that waited, in order, in one trip through the thread pool (node-sqlite3's
 * `exec`, which takes no bindings: each value goes into its statement as a literal, sqliteLiteral).
 * A statement whose values a literal could store differently goes with its bindings, one trip
 * each, as every write went before. `exec` stops at the first statement that fails and fails
 * with its error; the transaction is then rolled back, as after any failed statement.
 */
async function sendWritesOnSqlite(client: Knex.Client, writes: readonly DeferredWrite[]): Promise<void> {
  const connection = connectionOf.get(client) as SqliteConnection;
  const texts = writes.map((w) => withLiterals(w.text, w.bindings));
  if (texts.some((text) => text === undefined)) {
    for (const w of writes) await runOn(client, connection, w.text, w.bindings);
    return;
  }
  for (const w of writes) client.emit('query', { method: 'raw', sql: w.text, bindings: w.bindings });
  await new Promise<void>((resolve, reject) => {
    connection.exec(texts.join(';\n'), (err) => (err ? reject(err) : resolve()));
  });
}

/** `text` with its `?` placeholders replaced by `bindings` as literals; undefined where one cannot be. */
function withLiterals(text: string, bindings: readonly unknown[]): string | undefined {
  // A quote in the text could hold a `?` that is no placeholder: such a text keeps its bindings.
  if (text.includes("'")) return undefined;
  const parts = text.split('?');
  if (parts.length !== bindings.length + 1) return undefined;
  let sql = parts[0]!;
  for (let i = 0; i < bindings.length; i++) {
    const literal = sqliteLiteral(bindings[i]);
    if (literal === undefined) return undefined;
    sql += literal + parts[i + 1]!;
  }
  return sql;
}

/**
 * A value as the SQLite literal that stores what node-sqlite3 stores when it binds the value, or
 * undefined where that is not certain: a number that is not a safe integer (a float's text need
 * not read back as the same double), a string holding NUL (exec reads its text up to one), a type
 * the driver binds in its own way (a Date). The driver binds a number as an INTEGER only when it
 * is a 32-bit one, any other as a REAL (a time in ms too): written with `.0`, SQLite reads it as a
 * REAL, exactly, as every integer up to 2^53 is.
 */
export function sqliteLiteral(value: unknown): string | undefined {
  if (value === null || value === undefined) return 'NULL';
  switch (typeof value) {
    case 'string':
      return value.includes('\0') ? undefined : `'${value.replaceAll("'", "''")}'`;
    case 'number':
      if (!Number.isSafeInteger(value)) return undefined;
      return (value | 0) === value ? String(value | 0) : `${value}.0`;
    case 'boolean':
      return value ? '1' : '0';
    default:
      return Buffer.isBuffer(value) ? `X'${value.toString('hex')}'` : undefined;
  }
}

function positionedText(client: Knex.Client, text: string): string {
  let sql = positioned.get(text);
  if (sql === undefined) {
    sql = String(client.positionBindings(text));
    // The hot paths' texts are few; a text built per call (an IN list's length) must not grow this without end.
    if (positioned.size >= POSITIONED_KEPT) positioned.clear();
    positioned.set(text, sql);
  }
  return sql;
}

/** `?, ?, …`: the placeholders of a list of `count` values. */
export function placeholders(count: number): string {
  return count === 1 ? '?' : '?, '.repeat(count - 1) + '?';
}

/** What knex's clients report to whoever listens on the knex instance. */
const FORWARDED_EVENTS = ['start', 'query', 'query-error', 'query-response'];

/** One query builder per pooled connection, bound to it: made once, reused by every transaction on it. */
const boundTo = new WeakMap<object, Knex.Transaction>();

function boundKnex(knex: Knex, connection: object): Knex.Transaction {
  let bound = boundTo.get(connection);
  if (bound === undefined) {
    // The root client's config and pool, with one connection it never gives back, and listeners
    // of its own (the query builder's): what it reports reaches the root's listeners.
    const root = knex.client;
    const client = Object.create(root) as Knex.Client & { transacting: boolean };
    EventEmitter.call(client);
    for (const event of FORWARDED_EVENTS) client.on(event, (...args: unknown[]) => root.emit(event, ...args));
    client.transacting = true;
    client.acquireConnection = () => Promise.resolve(connection);
    client.releaseConnection = () => Promise.resolve();
    connectionOf.set(client, connection as PgConnection | SqliteConnection);
    deferredOf.set(client, []);
    // The query builder's statements go after the writes waiting, as hand-written ones do, once those have answered.
    const query = client.query;
    client.query = function (this: Knex.Client, ...args: Parameters<Knex.Client['query']>) {
      sendDeferred(client);
      return Promise.resolve(takeAhead(client)).then(() => query.apply(this, args));
    };
    bound = makeKnex(client) as Knex.Transaction;
    (bound as { isTransaction: boolean }).isTransaction = true;
    boundTo.set(connection, bound);
  }
  return bound;
}

/**
 * Runs `work` in a transaction on one pooled connection: BEGIN, the work, COMMIT, or ROLLBACK
 * when the work or the commit fails (a commit SQLite refuses leaves its transaction open). The
 * same as `knex.transaction`, without what knex builds anew for every transaction (a client, a
 * query builder and their promise chains, docs/performance.md#where-an-activations-time-goes).
 * `work` gets a query builder bound to the connection, which sqlRows recognises as a transaction.
 */
export async function directTransaction<T>(knex: Knex, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  const connection = (await knex.client.acquireConnection()) as object;
  try {
    const trx = boundKnex(knex, connection);
    await begin(trx.client);
    let result: T;
    try {
      result = await work(trx);
      await commit(trx);
    } catch (err) {
      // What never reached the database is not sent; what did is ended by the rollback, once answered.
      deferredOf.get(trx.client)?.splice(0);
      await takeAhead(trx.client)?.catch(() => undefined);
      await onConnection(trx.client, 'ROLLBACK', []).catch(() => undefined);
      throw err;
    }
    return result;
  } finally {
    await knex.client.releaseConnection(connection);
  }
}

/** The writes still waiting go first (sqlWrite); on SQLite in the same trip as the COMMIT. */
async function commit(trx: Knex.Transaction): Promise<void> {
  const client = trx.client;
  if (engineOf({ client }) === 'postgres') {
    await sqlRows(trx, 'COMMIT', []);
    return;
  }
  const writes = deferredOf.get(client)!.splice(0);
  writes.push({ text: 'COMMIT', bindings: [] });
  await afterAhead(client, () => sendWritesOnSqlite(client, writes));
}

/**
 * PostgreSQL's goes out with the transaction's first statement (aheadOf). SQLite's is IMMEDIATE:
 * the write lock is taken, or waited for like any write's, before anything is read. A deferred
 * transaction that has read cannot start writing once another process (the CLI, a second server)
 * has committed since: SQLITE_BUSY at once, without the busy wait (the sweeper's batches failed
 * that way beside a second process). So a code's lock there needs no write of its own
 * (code-store.ts).
 */
async function begin(client: Knex.Client): Promise<void> {
  if (engineOf({ client }) === 'postgres') sendAhead(client, onConnection(client, 'BEGIN', []));
  else await onConnection(client, 'BEGIN IMMEDIATE', []);
}
