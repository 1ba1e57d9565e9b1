import type { Knex } from 'knex';
import { CODE_VIEW_COLUMNS, codesChangedFunction, logViewChange } from './005_heartbeat_view_changes';
import { MAX_CODE_IDS_PER_STATEMENT } from './006_bulk_code_change_notices';
import { engineOf } from '../database';

/**
 * A code's expiry is no longer a change signal for the heartbeat view cache. A code that moves from
 * issued or alive to expired once its date has passed (by the clock of whoever wrote the row: its
 * `updated_at`), with nothing else a heartbeat reads changed, answers the same from a cached view:
 * the heartbeat derives `expired` from the date (`effectiveStatus`). A sweep's expiries made
 * notices that every server read, a measurable part of a PostgreSQL sweep in a server
 * (docs/performance.md#why-the-heartbeat-view-is-cached). `updated_at` is left out of the comparison otherwise: no heartbeat reads it.
 *
 * Any other status change (frozen, released, back to alive, or expired before the date, as plain
 * SQL could write it) still signals, as before. A server whose clock lags the sweeper's answers
 * from its cached view by its own clock: alive for that lag, then expired.
 */
const COMPARED = CODE_VIEW_COLUMNS.filter((c) => c !== 'status' && c !== 'updated_at');
const EXPIRY_ONLY = (o: string, n: string) => `${o}.status IN ('issued', 'alive') AND ${n}.status = 'expired' AND ${n}.expires_at <= ${n}.updated_at`;

/** PostgreSQL, over the statement's old and new rows. */
export function changedBeyondExpiry(o: string, n: string): string {
  const row = (alias: string, status: string) => `(${[status, ...COMPARED.map((c) => `${alias}.${c}`)].join(', ')})`;
  return `${row(o, `CASE WHEN ${EXPIRY_ONLY(o, n)} THEN ${n}.status ELSE ${o}.status END`)} IS DISTINCT FROM ${row(n, `${n}.status`)}`;
}

/** SQLite, as the row trigger's WHEN. */
const SQLITE_CHANGED = [...COMPARED.map((c) => `OLD.${c} IS NOT NEW.${c}`), `(OLD.status IS NOT NEW.status AND NOT (${EXPIRY_ONLY('OLD', 'NEW')}))`].join(
  ' OR ',
);
const SQLITE_CHANGED_BEFORE = CODE_VIEW_COLUMNS.map((c) => `OLD.${c} IS NOT NEW.${c}`).join(' OR ');

async function sqliteCodesTrigger(knex: Knex, when: string): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS codes_view_update');
  await knex.raw(`CREATE TRIGGER codes_view_update AFTER UPDATE ON codes WHEN ${when} BEGIN ${logViewChange('c', 'NEW')} END`);
}

export async function up(knex: Knex): Promise<void> {
  if (engineOf(knex) === 'postgres') await knex.raw(codesChangedFunction(MAX_CODE_IDS_PER_STATEMENT, changedBeyondExpiry));
  else await sqliteCodesTrigger(knex, SQLITE_CHANGED);
}

export async function down(knex: Knex): Promise<void> {
  if (engineOf(knex) === 'postgres') await knex.raw(codesChangedFunction(MAX_CODE_IDS_PER_STATEMENT));
  else await sqliteCodesTrigger(knex, SQLITE_CHANGED_BEFORE);
}
