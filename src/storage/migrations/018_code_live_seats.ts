import type { Knex } from 'knex';
import { engineOf } from '../database';

/**
 * A code's live seats, kept on its row: `codes.live_seats` counts its activations whose status is
 * 'active', moved by triggers on `activations` in the statement that changes one, so it is exact
 * wherever a seat is taken or freed: an activation, a deactivation, a code's release, the
 * sweeper's bulk statements, the CLI, another process. The statement that locks a code for a
 * seat reads it with the lock, instead of counting the code's live activations, which made an
 * activation on a code holding 50,000 seats cost twice one on a small code
 * (docs/performance.md#where-an-activations-time-goes).
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
    await knex.raw(`CREATE FUNCTION licensor_live_seats() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'active' THEN
          UPDATE codes SET live_seats = live_seats - 1 WHERE id = OLD.code_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'active' THEN
          UPDATE codes SET live_seats = live_seats + 1 WHERE id = NEW.code_id;
        END IF;
        RETURN NULL;
      END $$`);
    await knex.raw(`CREATE TRIGGER ${TRIGGERS[0]} AFTER INSERT ON activations FOR EACH ROW
      WHEN (NEW.status = 'active') EXECUTE FUNCTION licensor_live_seats()`);
    await knex.raw(`CREATE TRIGGER ${TRIGGERS[1]} AFTER UPDATE OF status, code_id ON activations FOR EACH ROW
      WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.code_id IS DISTINCT FROM NEW.code_id) EXECUTE FUNCTION licensor_live_seats()`);
    await knex.raw(`CREATE TRIGGER ${TRIGGERS[2]} AFTER DELETE ON activations FOR EACH ROW
      WHEN (OLD.status = 'active') EXECUTE FUNCTION licensor_live_seats()`);
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
