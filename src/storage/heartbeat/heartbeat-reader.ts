import pg from 'pg';
import sqlite3 from 'sqlite3';
import type { HeartbeatView } from '../../domain/ports';
import { ACTIVATION_COLUMNS, activationFromRow, type ActivationRow } from '../activation-store';
import { CODE_COLUMNS, codeFromRow, type CodeRow } from '../code-store';
import { openSqliteReader, pgTypes, type Database } from '../database';
import type { HeartbeatViewCache } from './heartbeat-view-cache';
import type { ViewChangeFeed } from './view-change-feed';
import { PRODUCT_COLUMNS, productFromRow } from '../product-store';

/** One query joins the activation with its code and product; columns are prefixed to keep them apart. */
function heartbeatSql(placeholder: string): string {
  const columns = [
    ...ACTIVATION_COLUMNS.map((c) => `a.${c} AS a_${c}`),
    ...CODE_COLUMNS.map((c) => `c.${c} AS c_${c}`),
    ...PRODUCT_COLUMNS.map((c) => `p.${c} AS p_${c}`),
  ];
  return `SELECT ${columns.join(', ')} FROM activations a JOIN codes c ON c.id = a.code_id JOIN products p ON p.id = a.product_id WHERE a.id = ${placeholder}`;
}

function unprefix<T>(row: Record<string, unknown>, prefix: string): T {
  const out: Record<string, unknown> = {};
  for (const key in row) if (key.startsWith(prefix)) out[key.slice(prefix.length)] = row[key];
  return out as T;
}

function toView(row: Record<string, unknown> | undefined): HeartbeatView | undefined {
  if (!row) return undefined;
  return {
    activation: activationFromRow(unprefix<ActivationRow>(row, 'a_')),
    code: codeFromRow(unprefix<CodeRow>(row, 'c_')),
    product: productFromRow(unprefix(row, 'p_')),
  };
}

/**
 * The heartbeat's read, on connections of its own with a prepared statement: a fraction of the
 * query builder's cost (docs/performance.md#why-the-heartbeat-view-is-cached). On SQLite the connections are
 * read-only and, in WAL mode, read beside the single writer instead of queueing behind it.
 */
export interface PreparedHeartbeatReader {
  read(activationId: string): Promise<HeartbeatView | undefined>;
  close(): Promise<void>;
}

/** Readers per SQLite file: as many as libuv has threads to run them on. */
const SQLITE_READERS = 4;

export function openHeartbeatReader(database: Database): PreparedHeartbeatReader {
  if (database.engine === 'postgres') return postgresReader(database.options.databaseUrl!);
  return sqliteReader(database.options.sqliteFile);
}

function sqliteReader(file: string): PreparedHeartbeatReader {
  const sql = heartbeatSql('?');
  const readers = Array.from({ length: SQLITE_READERS }, () => {
    const db = openSqliteReader(file);
    let statement!: sqlite3.Statement;
    db.serialize(() => {
      // Pages come from the OS page cache through mmap instead of a read() per page, and each
      // reader keeps a larger cache of its own: with a million codes the working set is large.
      db.exec('PRAGMA mmap_size = 268435456; PRAGMA cache_size = -32000;');
      statement = db.prepare(sql);
    });
    return { db, statement };
  });
  let next = 0;
  return {
    read(activationId) {
      const reader = readers[next]!;
      next = (next + 1) % readers.length;
      // `all`, not `get`: it steps to the end, so the kept statement ends its read. `get` stops
      // at the row and holds the read's snapshot until the next use, which a warm view cache
      // may never make: no checkpoint could then copy past it, and the WAL would grow without
      // end (test/sqlite-checkpoint.test.ts).
      return new Promise((resolve, reject) =>
        reader.statement.all(activationId, (err: Error | null, rows?: Array<Record<string, unknown>>) => (err ? reject(err) : resolve(toView(rows?.[0])))),
      );
    },
    async close() {
      for (const { db, statement } of readers) {
        await new Promise<void>((resolve) => statement.finalize(() => resolve()));
        await new Promise<void>((resolve) => db.close(() => resolve()));
      }
    },
  };
}

function postgresReader(url: string): PreparedHeartbeatReader {
  const pool = new pg.Pool({ connectionString: url, types: pgTypes as unknown as pg.CustomTypesConfig, max: 4 });
  // An idle client that loses its server must not crash the process; the next read reports it.
  pool.on('error', () => undefined);
  const query = { name: 'licensor_heartbeat_read', text: heartbeatSql('$1') };
  return {
    async read(activationId) {
      const result = await pool.query({ ...query, values: [activationId] });
      return toView(result.rows[0]);
    },
    close: () => pool.end(),
  };
}

/**
 * The heartbeat's read through the view cache (src/storage/heartbeat/heartbeat-view-cache.ts): a hit needs
 * no database at all. The cache is used only while the change feed vouches for it, and a read is
 * stored only if the feed vouched for it from before the read until after.
 */
export function cachedHeartbeatReader(inner: PreparedHeartbeatReader, cache: HeartbeatViewCache, feed: ViewChangeFeed): PreparedHeartbeatReader {
  return {
    async read(activationId) {
      const synced = feed.synced;
      if (synced) {
        const hit = cache.get(activationId);
        if (hit) return hit;
      }
      const stamp = cache.stamp();
      const view = await inner.read(activationId);
      return view && synced && feed.synced ? cache.fill(view, stamp) : view;
    },
    async close() {
      await feed.close();
      await inner.close();
    },
  };
}
