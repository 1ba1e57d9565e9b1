import type { Knex } from 'knex';
import type { OutboxStore } from '../domain/ports';
import type { OutboxEntry, OutboxFilter, OutboxStatus, OutboxSummaryRow, Page } from '../domain/types';
import { fromJson, keysetPage, numberOrNull, toJson } from './rows';
import { engineOf } from './database';
import { limitClause } from './row-limits';

export interface OutboxRow {
  id: string;
  kind: string;
  target: string;
  dedupe_key: string | null;
  payload: string;
  status: string;
  attempts: number | string;
  next_attempt_at: number | string;
  lease_until: number | string | null;
  leased_by: string | null;
  last_error: string | null;
  created_at: number | string;
  updated_at: number | string;
  delivered_at: number | string | null;
}

export function entryFromRow(row: OutboxRow): OutboxEntry {
  return {
    id: row.id,
    kind: row.kind,
    target: row.target,
    key: row.dedupe_key,
    payload: fromJson<Record<string, unknown>>(row.payload, {}),
    status: row.status as OutboxStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    lastError: row.last_error,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    deliveredAt: numberOrNull(row.delivered_at),
  };
}

/** Entries per INSERT: 14 values a row stays under both engines' bound-parameter limits. */
const ENQUEUE_CHUNK = 500;

function rowOf(e: OutboxEntry): OutboxRow {
  return {
    id: e.id,
    kind: e.kind,
    target: e.target,
    dedupe_key: e.key,
    payload: toJson(e.payload),
    status: e.status,
    attempts: e.attempts,
    next_attempt_at: e.nextAttemptAt,
    lease_until: null,
    leased_by: null,
    last_error: e.lastError,
    created_at: e.createdAt,
    updated_at: e.updatedAt,
    delivered_at: e.deliveredAt,
  };
}

/** An error text as stored: bounded, so a long answer from the other side cannot bloat the table. */
const MAX_ERROR = 2000;

/**
 * The entries that may be attempted now: pending, due, not held by a live claim, and each the
 * first pending entry of its target (entries of one target go one at a time, in id order; a failed
 * entry no longer holds up the ones after it).
 */
function due(limit: number): string {
  return `SELECT o.id FROM outbox o
              WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND (o.lease_until IS NULL OR o.lease_until <= ?)
                AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.target = o.target AND e.status = 'pending' AND e.id < o.id)
              ORDER BY o.next_attempt_at, o.id
              ${limitClause(limit)}`;
}

export class KnexOutboxStore implements OutboxStore {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async enqueue(e: OutboxEntry): Promise<boolean> {
    // The unique (kind, dedupe_key) makes an enqueue of the same key a no-op, whoever races it.
    const inserted = await this.db('outbox').insert(rowOf(e)).onConflict(['kind', 'dedupe_key']).ignore().returning('id');
    return (inserted as unknown[]).length > 0;
  }

  /** Many entries in few statements, each ignored as enqueue ignores it (webhooks' announcements of bulk events). */
  async enqueueMany(entries: readonly OutboxEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += ENQUEUE_CHUNK) {
      await this.db('outbox')
        .insert(entries.slice(i, i + ENQUEUE_CHUNK).map(rowOf))
        .onConflict(['kind', 'dedupe_key'])
        .ignore();
    }
  }

  async claim(owner: string, now: number, leaseUntil: number, limit: number): Promise<OutboxEntry[]> {
    if (engineOf(this.db) === 'postgres') {
      // SKIP LOCKED: processes claiming at the same moment take different entries, none waits;
      // the lease keeps a claimed entry from everyone else after this statement commits.
      const result = (await this.db.raw(
        `WITH due AS (${due(limit)} FOR UPDATE OF o SKIP LOCKED)
         UPDATE outbox SET lease_until = ?, leased_by = ?, updated_at = ? FROM due WHERE outbox.id = due.id RETURNING outbox.*`,
        [now, now, leaseUntil, owner, now],
      )) as { rows: OutboxRow[] };
      return result.rows.map(entryFromRow).sort(byId);
    }
    // SQLite: the caller's transaction holds the database's write lock from its BEGIN (direct-sql.ts).
    const rows = (await this.db.raw(`UPDATE outbox SET lease_until = ?, leased_by = ?, updated_at = ? WHERE id IN (${due(limit)}) RETURNING *`, [
      leaseUntil,
      owner,
      now,
      now,
      now,
    ])) as OutboxRow[];
    return rows.map(entryFromRow).sort(byId);
  }

  async markDelivered(id: string, owner: string, now: number): Promise<boolean> {
    const n = await this.claimed(id, owner).update({ status: 'delivered', delivered_at: now, updated_at: now, lease_until: null, leased_by: null });
    return n > 0;
  }

  async markAttemptFailed(id: string, owner: string, now: number, error: string, retryAt: number | null): Promise<OutboxEntry | undefined> {
    const patch: Record<string, unknown> = {
      attempts: this.db.raw('attempts + 1'),
      last_error: error.slice(0, MAX_ERROR),
      updated_at: now,
      lease_until: null,
      leased_by: null,
    };
    if (retryAt === null) patch.status = 'failed';
    else patch.next_attempt_at = retryAt;
    const rows = (await this.claimed(id, owner).update(patch).returning('*')) as OutboxRow[];
    return rows[0] && entryFromRow(rows[0]);
  }

  async requeue(id: string, now: number): Promise<OutboxEntry | undefined> {
    const rows = (await this.db('outbox')
      .where({ id, status: 'failed' })
      .update({ status: 'pending', attempts: 0, next_attempt_at: now, updated_at: now, lease_until: null, leased_by: null })
      .returning('*')) as OutboxRow[];
    return rows[0] && entryFromRow(rows[0]);
  }

  async find(id: string): Promise<OutboxEntry | undefined> {
    const row = await this.db<OutboxRow>('outbox').where({ id }).first();
    return row && entryFromRow(row);
  }

  async findByKey(kind: string, key: string): Promise<OutboxEntry | undefined> {
    const row = await this.db<OutboxRow>('outbox').where({ kind, dedupe_key: key }).first();
    return row && entryFromRow(row);
  }

  async list(filter: OutboxFilter, limit: number, cursor: string | null): Promise<Page<OutboxEntry>> {
    const q = this.db<OutboxRow>('outbox').select('*');
    if (filter.status) q.where('status', filter.status);
    if (filter.kind) q.where('kind', filter.kind);
    return keysetPage(q, { at: 'created_at', id: 'id' }, cursor, limit, entryFromRow, (e) => ({ at: e.createdAt, id: e.id }));
  }

  async summary(): Promise<OutboxSummaryRow[]> {
    const rows = (await this.db('outbox')
      .select('kind', 'status')
      .count({ n: '*' })
      .min({ oldest: 'created_at' })
      .groupBy('kind', 'status')
      .orderBy(['kind', 'status'])) as Array<{ kind: string; status: string; n: number | string; oldest: number | string }>;
    return rows.map((r) => ({ kind: r.kind, status: r.status as OutboxStatus, count: Number(r.n), oldestAt: Number(r.oldest) }));
  }

  async pruneDelivered(before: number): Promise<number> {
    return this.db('outbox').where('status', 'delivered').andWhere('delivered_at', '<', before).delete();
  }

  /** The entry while `owner` still holds its claim: a worker whose lease lapsed and was taken writes nothing. */
  private claimed(id: string, owner: string): Knex.QueryBuilder {
    return this.db('outbox').where({ id, leased_by: owner, status: 'pending' });
  }
}

function byId(a: OutboxEntry, b: OutboxEntry): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
