import type { Knex } from 'knex';
import type { ExpiryPlace, SweepBatch } from '../domain/ports';
import { engineOf } from './database';
import { limitClause } from './row-limits';
import { uuidV7Sql } from './sql-ids';
import { enqueueWebhookDeliveriesWritten } from './webhook-store';

/**
 * The sweeper's bulk changes (CodeStore.expireDue and releaseExpired, src/domain/ports.ts): a batch
 * of codes moved, their seats ended, their audit events written and announced, without a round
 * trip per code. One statement on PostgreSQL; a temporary table and a few statements on SQLite,
 * whose writer connection the transaction holds (docs/performance.md).
 */
export class CodeSweep {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async expireDue(after: ExpiryPlace, now: number, limit: number, actor: string): Promise<SweepBatch> {
    const json = JSON.stringify({ status: 'expired' });
    // In date order from where the last batch ended, along the (expires_at, id) index: each code
    // of the window is read once, and no index holds the status the batch changes (migration 009).
    const due = `SELECT id, status, expires_at FROM codes
                  WHERE (expires_at, id) > (?, ?) AND expires_at <= ? AND status IN ('issued', 'alive')
                  ORDER BY expires_at, id ${limitClause(limit)}`;
    if (engineOf(this.db) === 'postgres') {
      // One statement: lock the batch (a code held by another transaction is waited for and
      // re-checked), move it, audit it. A re-checked code comes back still due with its date, or
      // not at all: writers never move a live code to another past date (lifecycle.ts), so the
      // batch's last code is still where the next batch starts.
      const result = await this.db.raw(
        `WITH due AS (${due} FOR UPDATE),
         moved AS (
           UPDATE codes SET status = 'expired', updated_at = ? FROM due WHERE codes.id = due.id RETURNING codes.id, due.status),
         numbered AS (SELECT id, status, row_number() OVER () AS n FROM moved),
         written AS (
           INSERT INTO audit_events (id, at, actor, action, entity_type, entity_id, code_id, before, after)
           SELECT ${uuidV7Sql('postgres', now, 'n')}, ?, ?, 'code.expired', 'code', id, id, json_build_object('status', status)::text, ?
             FROM numbered)
         ${PG_BATCH_RESULT}`,
        [after.expiresAt, after.id, now, now, now, actor, json],
      );
      return this.announce(pgBatch(result), after, now, actor, EXPIRED);
    }
    const taken = await this.sqliteBatch('sweep_due', 'id TEXT PRIMARY KEY, status TEXT NOT NULL, expires_at INTEGER NOT NULL', due, [
      after.expiresAt,
      after.id,
      now,
    ]);
    await this.db.raw(`UPDATE codes SET status = 'expired', updated_at = ? WHERE id IN (SELECT id FROM sweep_due)`, [now]);
    await this.db.raw(
      `INSERT INTO audit_events (id, at, actor, action, entity_type, entity_id, code_id, before, after)
       SELECT ${uuidV7Sql('sqlite', now, 'rowid')}, ?, ?, 'code.expired', 'code', id, id, json_object('status', status), ? FROM sweep_due`,
      [now, actor, json],
    );
    return this.announce(await this.sqliteBatchResult('sweep_due', taken), after, now, actor, EXPIRED);
  }

  async releaseExpired(after: ExpiryPlace, cutoff: number, now: number, limit: number, actor: string): Promise<SweepBatch> {
    const before = JSON.stringify({ status: 'expired' });
    const json = JSON.stringify({ status: 'released' });
    const due = `SELECT id, expires_at FROM codes
                  WHERE (expires_at, id) > (?, ?) AND expires_at < ? AND status = 'expired'
                  ORDER BY expires_at, id ${limitClause(limit)}`;
    if (engineOf(this.db) === 'postgres') {
      // One statement, as expireDue: lock the batch, move it, end its live seats, audit both.
      // The batch's seats are found code by code through the (code, status) index, then ended
      // by primary key, in forms whose plan does not depend on estimates (OFFSET 0 keeps the
      // lookup per code; `= ANY(ARRAY(…))` is a key lookup). A join left it to estimates, which a
      // CTE and a fresh cohort make up: the planner hashed every live activation of every
      // product for each batch (docs/performance.md#bulk-changes-are-one-statement-a-batch).
      const result = await this.db.raw(
        `WITH due AS (${due} FOR UPDATE),
         moved AS (
           UPDATE codes SET status = 'released', updated_at = ? FROM due WHERE codes.id = due.id RETURNING codes.id),
         ended AS (
           UPDATE activations SET status = 'deactivated', ended_at = ?
            WHERE activations.id = ANY (ARRAY(
                    SELECT seat.id FROM moved CROSS JOIN LATERAL (
                      SELECT id FROM activations seat WHERE seat.code_id = moved.id AND seat.status = 'active' OFFSET 0) seat))
              AND activations.status = 'active'
           RETURNING activations.id, activations.code_id),
         events AS (
           SELECT 'code.released' AS action, 'code' AS entity_type, id AS entity_id, id AS code_id, ?::text AS before, ?::text AS after FROM moved
           UNION ALL
           SELECT 'activation.released', 'activation', id, code_id, NULL, NULL FROM ended),
         written AS (
           INSERT INTO audit_events (id, at, actor, action, entity_type, entity_id, code_id, before, after)
           SELECT ${uuidV7Sql('postgres', now, 'n')}, ?, ?, action, entity_type, entity_id, code_id, before, after
             FROM (SELECT events.*, row_number() OVER () AS n FROM events) numbered)
         ${PG_BATCH_RESULT}`,
        [after.expiresAt, after.id, cutoff, now, now, before, json, now, actor],
      );
      return this.announce(pgBatch(result), after, now, actor, RELEASED);
    }
    const taken = await this.sqliteBatch('sweep_released', 'id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL', due, [after.expiresAt, after.id, cutoff]);
    if (taken === 0) return { moved: 0, last: null };
    await this.sqliteBatch(
      'sweep_ended',
      'id TEXT PRIMARY KEY, code_id TEXT NOT NULL',
      `SELECT id, code_id FROM activations WHERE status = 'active' AND code_id IN (SELECT id FROM sweep_released)`,
      [],
    );
    await this.db.raw(`UPDATE codes SET status = 'released', updated_at = ? WHERE id IN (SELECT id FROM sweep_released)`, [now]);
    await this.db.raw(`UPDATE activations SET status = 'deactivated', ended_at = ? WHERE id IN (SELECT id FROM sweep_ended)`, [now]);
    // The activations' events count on from the codes' (rowids 1…taken), so ids stay in written order.
    await this.db.raw(
      `INSERT INTO audit_events (id, at, actor, action, entity_type, entity_id, code_id, before, after)
       SELECT ${uuidV7Sql('sqlite', now, 'rowid')}, ?, ?, 'code.released', 'code', id, id, ?, ? FROM sweep_released
       UNION ALL
       SELECT ${uuidV7Sql('sqlite', now, `rowid + ${taken}`)}, ?, ?, 'activation.released', 'activation', id, code_id, NULL, NULL FROM sweep_ended`,
      [now, actor, before, json, now, actor],
    );
    return this.announce(await this.sqliteBatchResult('sweep_released', taken), after, now, actor, RELEASED);
  }

  /**
   * SQLite: the writer connection is ours for the transaction (which holds the write lock from
   * its BEGIN: direct-sql.ts), so a temporary table holds a sweeper batch, filled by `select`;
   * its rowids (1, 2, …: it is emptied first) number the batch's events. Returns its size.
   */
  private async sqliteBatch(table: string, columns: string, select: string, bindings: Knex.RawBinding[]): Promise<number> {
    await this.db.raw(`CREATE TEMP TABLE IF NOT EXISTS ${table} (${columns})`);
    await this.db.raw(`DELETE FROM ${table}`);
    await this.db.raw(`INSERT INTO ${table} ${select}`, bindings);
    const [row] = (await this.db.raw(`SELECT count(*) AS n FROM ${table}`)) as Array<{ n: number }>;
    return Number(row?.n ?? 0);
  }

  /** SQLite: a batch of `taken` codes and its last one in date order (rows went in in that order). */
  /**
   * Announces a batch's audit events to webhooks (docs/webhooks.md), in its transaction: the
   * events of the codes in the batch's window, (after, last], that the sweeper wrote at `now`.
   * Windows do not overlap, so a later batch of the same run (same `now`) reads none of these again.
   */
  private async announce(batch: SweepBatch, after: ExpiryPlace, now: number, actor: string, actions: readonly string[]): Promise<SweepBatch> {
    if (batch.last === null) return batch;
    const window = this.db('codes')
      .select('id')
      .whereRaw('(expires_at, id) > (?, ?) AND (expires_at, id) <= (?, ?)', [after.expiresAt, after.id, batch.last.expiresAt, batch.last.id]);
    await enqueueWebhookDeliveriesWritten(this.db, { at: now, actor, actions, codeIds: window });
    return batch;
  }

  private async sqliteBatchResult(table: string, taken: number): Promise<SweepBatch> {
    const rows = (await this.db.raw(`SELECT ? AS n, expires_at, id FROM ${table} ORDER BY rowid DESC LIMIT 1`, [taken])) as BatchRow[];
    return batchOf(rows[0]);
  }
}

/** The actions of the sweeper's bulk audit events, announced to webhooks (docs/webhooks.md). */
const EXPIRED = ['code.expired'];
const RELEASED = ['code.released', 'activation.released'];

/** The end of a PostgreSQL sweeper statement: how many codes moved, and the last one taken. */
const PG_BATCH_RESULT = `SELECT (SELECT count(*) FROM moved) AS n, expires_at, id FROM due ORDER BY expires_at DESC, id DESC LIMIT 1`;

function pgBatch(result: unknown): SweepBatch {
  return batchOf((result as { rows: BatchRow[] }).rows[0]);
}

/** A sweeper statement's one row (its count and last code), or none when the batch took nothing. */
interface BatchRow {
  n: number | string;
  expires_at: number | string;
  id: string;
}

function batchOf(row: BatchRow | undefined): SweepBatch {
  return row ? { moved: Number(row.n), last: { expiresAt: Number(row.expires_at), id: row.id } } : { moved: 0, last: null };
}
