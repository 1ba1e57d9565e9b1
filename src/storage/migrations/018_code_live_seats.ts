import type { Knex } from 'knex';
import { engineOf } from '../database';

/**
 * A code's live seats, kept on its row: `codes.live_seats` counts its activations whose status is
 * 'active', moved by triggers on `activations` in the statement that changes one, so it is exact
 * wherever a seat is taken or freed: an activation, a deactivation, a code's release, the
 * sweeper's bulk statements, the CLI, another process. The statement that locks a code for a
 * seat reads it with the lock, instead of counting the code's live activations, which made an
 * activation on a code holding 50,000 seats cost twice one on a small code
 * (docs/performance.md#an-activation-asks-the-database-few-questions).
 *
 * Only a change of an activation's status or code fires them: not a heartbeat's liveness write.
 * On PostgreSQL the trigger takes the code's row lock, so every statement that changes an
 * activation's status holds its code's lock first (src/storage/activation-store.ts).
 */
const TRIGGERS = ['activations_live_seats_insert', 'activations_live_seats_update', 'activations_live_seats_delete'];

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE codes ADD COLUMN live_seats INTEGER NOT NULL DEFAULT 0');
  await knex.raw(`UPDATE codes SET live_seats = (SELECT count(*) FROM activations WHERE activations.code_id = codes.id AND activations.status = 'active')`);
  if (engineOf(knex) === 'postgres') {
    // Once per statement, from its transition tables: a bulk statement (the sweeper releases
    // 10,000 codes' seats in one) moves its codes together, where a row trigger cost a statement
    // per seat (docs/performance.md#sweeper). PostgreSQL takes no column list with transition
    // tables, so every UPDATE of activations runs it; one that changes no status or code (a
    // heartbeat's liveness write) moves nothing. An UPDATE's old and new rows are the same rows,
    // so a code's change is its live new rows less its live old ones: no join of the two tables,
    // whose plan, kept per session from the first statement's sizes, could turn quadratic
    // (migration 005). Codes are found by `id = ANY(…)`, a key lookup whatever the sizes: a join,
    // planned once for a bulk statement, would scan every code for each activation after.
    await knex.raw(liveSeatsFunction());
    await knex.raw(`CREATE TRIGGER ${TRIGGERS[0]} AFTER INSERT ON activations REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION licensor_live_seats()`);
    await knex.raw(`CREATE TRIGGER ${TRIGGERS[1]} AFTER UPDATE ON activations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION licensor_live_seats()`);
    await knex.raw(`CREATE TRIGGER ${TRIGGERS[2]} AFTER DELETE ON activations REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION licensor_live_seats()`);
    return;
  }
  await knex.raw(`CREATE TRIGGER ${TRIGGERS[0]} AFTER INSERT ON activations WHEN NEW.status = 'active'
    BEGIN UPDATE codes SET live_seats = live_seats + 1 WHERE id = NEW.code_id; END`);
  await knex.raw(`CREATE TRIGGER ${TRIGGERS[1]} AFTER UPDATE OF status, code_id ON activations
    WHEN OLD.status IS NOT NEW.status OR OLD.code_id IS NOT NEW.code_id
    BEGIN
      UPDATE codes SET live_seats = live_seats - 1 WHERE id = OLD.code_id AND OLD.status = 'active';
      UPDATE codes SET live_seats = live_seats + 1 WHERE id = NEW.code_id AND NEW.status = 'active';
    END`);
  await knex.raw(`CREATE TRIGGER ${TRIGGERS[2]} AFTER DELETE ON activations WHEN OLD.status = 'active'
    BEGIN UPDATE codes SET live_seats = live_seats - 1 WHERE id = OLD.code_id; END`);
}

export async function down(knex: Knex): Promise<void> {
  if (engineOf(knex) === 'postgres') {
    for (const trigger of TRIGGERS) await knex.raw(`DROP TRIGGER IF EXISTS ${trigger} ON activations`);
    await knex.raw('DROP FUNCTION IF EXISTS licensor_live_seats()');
  } else {
    for (const trigger of TRIGGERS) await knex.raw(`DROP TRIGGER IF EXISTS ${trigger}`);
  }
  await knex.raw('ALTER TABLE codes DROP COLUMN live_seats');
}

/** A transaction's setting, on while licensor_live_seats moves seat counts and only then (migration 020). */
export const SEAT_COUNTS_ONLY = 'licensor.seat_counts_only';

/**
 * PostgreSQL's trigger function: a statement's seats moved, code by code, from its transition
 * tables. `flagged` (migration 020): the UPDATEs of codes it makes run with SEAT_COUNTS_ONLY on,
 * which tells the codes' change-notice trigger that no column a view shows is changing.
 */
export function liveSeatsFunction(flagged = false): string {
  const setFlag = (to: 'on' | 'off') => (flagged ? `\n        PERFORM set_config('${SEAT_COUNTS_ONLY}', '${to}', true);` : '');
  return `CREATE OR REPLACE FUNCTION licensor_live_seats() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        delta integer;
        ids varchar[];
      BEGIN${setFlag('on')}
        IF TG_OP = 'INSERT' THEN
          FOR delta, ids IN
            SELECT n, array_agg(code_id) FROM (SELECT code_id, count(*)::integer AS n FROM new_rows WHERE status = 'active' GROUP BY code_id) d GROUP BY n
          LOOP
            UPDATE codes SET live_seats = live_seats + delta WHERE id = ANY(ids);
          END LOOP;
        ELSIF TG_OP = 'DELETE' THEN
          FOR delta, ids IN
            SELECT -n, array_agg(code_id) FROM (SELECT code_id, count(*)::integer AS n FROM old_rows WHERE status = 'active' GROUP BY code_id) d GROUP BY n
          LOOP
            UPDATE codes SET live_seats = live_seats + delta WHERE id = ANY(ids);
          END LOOP;
        ELSE
          FOR delta, ids IN
            SELECT n, array_agg(code_id) FROM (
              SELECT code_id, sum(n)::integer AS n FROM (
                SELECT code_id, 1 AS n FROM new_rows WHERE status = 'active'
                UNION ALL
                SELECT code_id, -1 FROM old_rows WHERE status = 'active') moved
              GROUP BY code_id) d
            WHERE n <> 0 GROUP BY n
          LOOP
            UPDATE codes SET live_seats = live_seats + delta WHERE id = ANY(ids);
          END LOOP;
        END IF;${setFlag('off')}
        RETURN NULL;
      END $$`;
}
