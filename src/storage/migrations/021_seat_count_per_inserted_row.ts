import type { Knex } from 'knex';
import { engineOf } from '../database';
import { SEAT_COUNTS_ONLY } from './018_code_live_seats';

const TRIGGER = 'activations_live_seats_insert';

/**
 * PostgreSQL: an activation inserted moves its code's seat count (migration 018) in a row
 * trigger, not in the statement trigger that reads a transition table. Activations are inserted
 * one at a time, where PostgreSQL spent ~70 µs on the statement trigger (building the transition
 * table, planning its query again for the array of codes) against ~26 µs for a row trigger doing
 * the same (docs/performance.md#where-an-activations-time-goes). Updates and deletes keep the statement
 * trigger: a release or a sweep ends thousands of seats in one statement. The flag of migration
 * 020 still tells the codes' change-notice trigger that only a seat count moves.
 */
export async function up(knex: Knex): Promise<void> {
  if (engineOf(knex) !== 'postgres') return;
  await knex.raw(`CREATE OR REPLACE FUNCTION licensor_live_seat_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM set_config('${SEAT_COUNTS_ONLY}', 'on', true);
        UPDATE codes SET live_seats = live_seats + 1 WHERE id = NEW.code_id;
        PERFORM set_config('${SEAT_COUNTS_ONLY}', 'off', true);
        RETURN NULL;
      END $$`);
  await knex.raw(`DROP TRIGGER ${TRIGGER} ON activations`);
  await knex.raw(`CREATE TRIGGER ${TRIGGER} AFTER INSERT ON activations FOR EACH ROW WHEN (NEW.status = 'active')
      EXECUTE FUNCTION licensor_live_seat_inserted()`);
}

export async function down(knex: Knex): Promise<void> {
  if (engineOf(knex) !== 'postgres') return;
  await knex.raw(`DROP TRIGGER ${TRIGGER} ON activations`);
  await knex.raw(`CREATE TRIGGER ${TRIGGER} AFTER INSERT ON activations REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION licensor_live_seats()`);
  await knex.raw('DROP FUNCTION licensor_live_seat_inserted()');
}
