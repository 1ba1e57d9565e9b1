import type { Knex } from 'knex';
import pg from 'pg';
import sqlite3 from 'sqlite3';
import { openSqliteReader, type Database } from '../database';
import { limitClause } from '../row-limits';
import { parseViewChange, type ViewChange } from './heartbeat-view-cache';
import { VIEW_CHANGE_CHANNEL } from '../migrations/005_heartbeat_view_changes';
import { RAISED_NOTICES_SETTING } from '../migrations/019_raised_notices';
import { sqlRowsAhead } from '../direct-sql';

/** A cache the feed keeps fresh: told each change the database reported, or to forget everything. */
export interface ChangeSubscriber {
  apply(change: ViewChange): void;
  clear(): void;
}

/** Several caches fed by one feed (the heartbeat views and the products). */
export function everyOne(...subscribers: ChangeSubscriber[]): ChangeSubscriber {
  return {
    apply: (change) => subscribers.forEach((s) => s.apply(change)),
    clear: () => subscribers.forEach((s) => s.clear()),
  };
}

/**
 * Carries the database's change signals (migration 005) into the caches that depend on them (the
 * heartbeat views, the products). While it is not `synced` a cache is neither read nor filled, so
 * a lost connection or a stuck poll can only cost reads, never serve a row the database has moved past.
 */
export interface ViewChangeFeed {
  readonly synced: boolean;
  /**
   * Resolves once every change this process has committed so far is in the cache (read-your-writes).
   * Never rejects: it runs after a commit, which must not be reported as failed; a feed that cannot
   * catch up clears the cache and stops vouching instead.
   */
  catchUp(): Promise<void>;
  /**
   * Sent in a transaction as its last statement, in the COMMIT's round trip: the notices it raised
   * (migration 019), or null where they are not known. Undefined where nothing is sent (SQLite).
   */
  raisedBy(trx: Knex.Transaction): Promise<RaisedNotices> | undefined;
  /**
   * After a local commit, resolves once what it changed is in the cache (read-your-writes): the
   * notices it raised applied here at once when they are known, a catch-up otherwise. Never rejects.
   */
  committed(raised: RaisedNotices | undefined): Promise<void>;
  close(): Promise<void>;
}

/** A transaction's own notices, as its triggers recorded them; null when they are not known (too many, or unread). */
export type RaisedNotices = readonly string[] | null;

interface FeedOptions {
  /** How often another process's changes are looked for (SQLite). */
  pollMs: number;
  /** A feed that has not heard from the database for this long stops vouching for the cache. */
  staleAfterMs: number;
  /**
   * Change-log rows one catch-up applies before it gives up and clears the cache instead (SQLite).
   * Applying is far cheaper than re-reading every cached view, so this is only a bound on one
   * catch-up's work (the sweeper writes 10,000 rows a batch).
   */
  maxRowsPerCatchUp: number;
}

const DEFAULT_OPTIONS: FeedOptions = { pollMs: 100, staleAfterMs: 2_000, maxRowsPerCatchUp: 100_000 };

export async function openViewChangeFeed(database: Database, cache: ChangeSubscriber, options: Partial<FeedOptions> = {}): Promise<ViewChangeFeed> {
  const settings = { ...DEFAULT_OPTIONS, ...options };
  const feed = database.engine === 'postgres' ? new NotifyFeed(database.options.databaseUrl!, cache, settings) : new ChangeLogFeed(database, cache, settings);
  await feed.start();
  return feed;
}

/**
 * A catch-up for callers who need it to start after they asked: one run at a time, and callers who
 * arrive while one runs (it may have looked too early for them) share the single run queued behind it.
 */
class OneRunAtATime {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(private readonly work: () => Promise<void>) {}

  run(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    this.queued = this.running.then(() => this.start());
    return this.queued;
  }

  async settled(): Promise<void> {
    await (this.queued ?? this.running);
  }

  private start(): Promise<void> {
    this.queued = null;
    this.running = this.work().finally(() => {
      this.running = null;
    });
    return this.running;
  }
}

/** Change-log rows per read. */
const PAGE_ROWS = 5000;
/** Change log rows are kept this long: far longer than any process may go without polling. */
const CHANGE_LOG_RETENTION_MS = 10 * 60_000;
const PRUNE_EVERY_MS = 60_000;

/**
 * SQLite: reads the change log on a read-only connection of its own (in WAL mode never blocked by
 * the writer) after each local commit and every `pollMs` for other processes (the CLI). One writer
 * at a time means sequence order is commit order, so "everything after the last seq seen" misses nothing.
 */
class ChangeLogFeed implements ViewChangeFeed {
  private readonly db: sqlite3.Database;
  private lastSeq = 0;
  private healthy = false;
  private heardAt = 0;
  // Stale (not heard from for staleAfterMs, say a paused process) starts afresh: the rows it
  // missed may have been pruned by another process meanwhile.
  private readonly runs = new OneRunAtATime(() => (this.synced ? this.readChanges() : this.resync()));
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly page: number;
  /** One page of the log after a sequence number: the same text every time, so kept prepared. */
  private readonly readPage: string;

  constructor(
    private readonly database: Database,
    private readonly cache: ChangeSubscriber,
    private readonly options: FeedOptions,
  ) {
    this.db = openSqliteReader(database.options.sqliteFile);
    this.page = Math.min(PAGE_ROWS, options.maxRowsPerCatchUp + 1);
    this.readPage = `SELECT seq, entity, entity_id FROM view_changes WHERE seq > ? ORDER BY seq ${limitClause(this.page)}`;
  }

  get synced(): boolean {
    return this.healthy && Date.now() - this.heardAt < this.options.staleAfterMs;
  }

  async start(): Promise<void> {
    await this.resync();
    const poll = setInterval(() => void this.catchUp(), this.options.pollMs);
    const prune = setInterval(() => this.prune().catch(() => undefined), PRUNE_EVERY_MS);
    for (const timer of [poll, prune]) timer.unref();
    this.timers.push(poll, prune);
  }

  catchUp(): Promise<void> {
    return this.runs.run();
  }

  /** The change log is read after the commit: SQLite's COMMIT travels with writes that return no rows. */
  raisedBy(): undefined {
    return undefined;
  }

  committed(): Promise<void> {
    return this.catchUp();
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.runs.settled();
    await new Promise<void>((resolve) => this.db.close(() => resolve()));
  }

  private async readChanges(): Promise<void> {
    try {
      for (let read = 0; ;) {
        // The triggers write only 'a', 'c', 'p' (migration 005) and 'w' (migration 017).
        const rows = await this.all<{ seq: number; entity: ViewChange['entity']; entity_id: string }>(this.readPage, [this.lastSeq]);
        read += rows.length;
        if (read > this.options.maxRowsPerCatchUp) return await this.resync();
        // A bulk statement (the sweeper's expiry) logs a row per code: one apply per run of an entity.
        for (let i = 0; i < rows.length;) {
          const entity = rows[i]!.entity;
          const ids: string[] = [];
          for (; i < rows.length && rows[i]!.entity === entity; i++) ids.push(rows[i]!.entity_id);
          this.cache.apply({ entity, ids });
        }
        if (rows.length > 0) this.lastSeq = rows[rows.length - 1]!.seq;
        if (rows.length < this.page) break;
      }
      this.heardAt = Date.now();
    } catch {
      this.lose();
    }
  }

  /** Starts afresh from the newest change: nothing cached can predate it. */
  private async resync(): Promise<void> {
    try {
      const [row] = await this.all<{ seq: number | null }>('SELECT max(seq) AS seq FROM view_changes', []);
      this.cache.clear();
      this.lastSeq = row?.seq ?? 0;
      this.healthy = true;
      this.heardAt = Date.now();
    } catch {
      this.lose();
    }
  }

  private lose(): void {
    this.healthy = false;
    this.cache.clear();
  }

  private async prune(): Promise<void> {
    await this.database
      .knex('view_changes')
      .where('at', '<', Date.now() - CHANGE_LOG_RETENTION_MS)
      .delete();
  }

  private all<T>(sql: string, params: unknown[]): Promise<T[]> {
    return new Promise((resolve, reject) => this.db.all(sql, params, (err: Error | null, rows: T[]) => (err ? reject(err) : resolve(rows))));
  }
}

const RECONNECT_MS = 1_000;

/** What the transaction's triggers recorded of the notices they raised (migration 019). */
const RAISED_NOTICES_TEXT = `SELECT current_setting('${RAISED_NOTICES_SETTING}', true) AS raised`;

/**
 * PostgreSQL: LISTEN on a connection of its own. Notices arrive in commit order, from every process.
 * A local transaction's own notices are read with its COMMIT and applied at once (committed);
 * when they are not known, a round trip on the listening connection is a barrier: the notices of
 * our transaction were sent to it before the answer. A lost connection clears the cache until
 * LISTEN is back (notices sent meanwhile are lost to us).
 */
class NotifyFeed implements ViewChangeFeed {
  private client: pg.Client | null = null;
  private listening = false;
  private closed = false;
  private heardAt = 0;
  private reconnect: NodeJS.Timeout | null = null;
  private ping: NodeJS.Timeout | null = null;
  // Commits that land together share one round trip instead of queueing one each on the connection.
  private readonly runs = new OneRunAtATime(() => this.roundTrip());

  constructor(
    private readonly url: string,
    private readonly cache: ChangeSubscriber,
    private readonly options: FeedOptions,
  ) {}

  /** A connection that silently stopped answering (a network partition) stops vouching within staleAfterMs. */
  get synced(): boolean {
    return this.listening && Date.now() - this.heardAt < this.options.staleAfterMs;
  }

  async start(): Promise<void> {
    await this.connect();
    this.ping = setInterval(() => void this.catchUp(), Math.max(this.options.pollMs, this.options.staleAfterMs / 4));
    this.ping.unref();
  }

  catchUp(): Promise<void> {
    return this.runs.run();
  }

  raisedBy(trx: Knex.Transaction): Promise<RaisedNotices> {
    return sqlRowsAhead<{ raised: string | null }>(trx, RAISED_NOTICES_TEXT, []).then(
      ([row]) => (row?.raised === '*' ? null : row?.raised ? row.raised.split('\n') : []),
      () => null,
    );
  }

  /**
   * The transaction's own notices are applied here as the listening connection would apply them,
   * which makes the round trip after the commit unneeded: the connection brings them again later,
   * and applying one twice only drops what was cached meanwhile.
   */
  committed(raised: RaisedNotices | undefined): Promise<void> {
    if (!raised) return this.catchUp();
    for (const notice of raised) this.hear(notice);
    return Promise.resolve();
  }

  private hear(payload: string): void {
    const change = parseViewChange(payload);
    // A notice we cannot read could be anything: forget everything rather than guess.
    if (change) this.cache.apply(change);
    else this.cache.clear();
  }

  private async roundTrip(): Promise<void> {
    const client = this.client;
    if (!this.listening || !client) return;
    // A connection that stopped answering without closing must not hold a committed write: after
    // staleAfterMs it is given up (the cache cleared), and the write returns.
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<'silent'>((resolve) => (timer = setTimeout(() => resolve('silent'), this.options.staleAfterMs)));
    try {
      const answer = await Promise.race([client.query('SELECT 1'), silent]);
      if (answer === 'silent') this.lose(client);
      else this.heardAt = Date.now();
    } catch {
      this.lose(client);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnect) clearTimeout(this.reconnect);
    if (this.ping) clearInterval(this.ping);
    const client = this.client;
    this.client = null;
    this.listening = false;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: this.options.staleAfterMs });
    client.on('error', () => this.lose(client));
    client.on('end', () => this.lose(client));
    client.on('notification', (message) => this.hear(message.channel === VIEW_CHANGE_CHANNEL ? (message.payload ?? '') : ''));
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${VIEW_CHANGE_CHANNEL}`);
      if (this.client !== client) return;
      this.cache.clear();
      this.listening = true;
      this.heardAt = Date.now();
    } catch {
      this.lose(client);
    }
  }

  private lose(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.listening = false;
    this.cache.clear();
    client.end().catch(() => undefined);
    if (!this.closed && !this.reconnect) {
      this.reconnect = setTimeout(() => {
        this.reconnect = null;
        void this.connect();
      }, RECONNECT_MS);
      this.reconnect.unref();
    }
  }
}
