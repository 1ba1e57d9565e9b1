import type { Knex } from 'knex';
import { engineOf } from '../database';
import { codesUpdateTrigger } from './005_heartbeat_view_changes';
import { liveSeatsFunction, SEAT_COUNTS_ONLY } from './018_code_live_seats';

/**
 * PostgreSQL: a code's seat count moving (migration 018) no longer runs the codes' change-notice
 * trigger (migration 005). That trigger compares each changed code's old and new rows, column by
 * column, and a seat count is not among the columns it compares, so for the UPDATE the seat-count
 * trigger makes on every activation, deactivation and release it found nothing, at 0.05–0.09 ms of
 * the database's time each (docs/performance.md "An activation asks the database few questions").
 * The seat-count trigger now says what it is doing in a setting of the transaction, on only around
 * its own UPDATEs, and the notice trigger's WHEN skips the call while it is on. A statement
 * trigger's WHEN may read a setting, not a column. SQLite's trigger already names the columns it
 * watches (migration 008).
 */
export async function up(knex: Knex): Promise<void> {
  if (engineOf(knex) !== 'postgres') return;
  await knex.raw(liveSeatsFunction(true));
  await knex.raw('DROP TRIGGER codes_view_update ON codes');
  await knex.raw(codesUpdateTrigger(`current_setting('${SEAT_COUNTS_ONLY}', true) IS DISTINCT FROM 'on'`));
}

export async function down(knex: Knex): Promise<void> {
  if (engineOf(knex) !== 'postgres') return;
  await knex.raw('DROP TRIGGER codes_view_update ON codes');
  await knex.raw(codesUpdateTrigger());
  await knex.raw(liveSeatsFunction(false));
}
