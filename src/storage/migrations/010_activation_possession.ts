import type { Knex } from 'knex';
import { logViewChange } from './005_heartbeat_view_changes';
import { engineOf } from '../database';

/**
 * One seat is one machine (docs/fingerprint.md "Drift, re-enrolment and clones"; docs/security.md):
 *
 * - `secret_hash`: SHA-256 of the activation's secret, which only the client that activated holds;
 *   a heartbeat proves possession with it (null: an activation made before this migration, or one
 *   whose holder never received a secret: air-gapped, marketplace; those prove it with a lease token).
 * - `fingerprint_changed_at`, `replaced_components`: the last re-enrolment and what it replaced,
 *   so a product's window allows one change and a change back within it reads as two machines.
 * - `foreign_beat_at`: the last beat whose fingerprint named another machine (an anchor disagreed).
 * - `cloned_at`: when beats from two machines were seen alternating; every beat is refused since.
 * - products' `fingerprint_change_window_seconds`: the window, 30 days unless the product says otherwise.
 *
 * The heartbeat reads every new column, so the view-change triggers of migration 005 are made
 * again with them (an activation's liveness is still not a change).
 */
const ACTIVATION_VIEW_COLUMNS = [
  'code_id',
  'product_id',
  'fingerprint',
  'environment',
  'status',
  'clone_suspect',
  'ended_at',
  'in_use_until',
  'secret_hash',
  'fingerprint_changed_at',
  'replaced_components',
  'foreign_beat_at',
  'cloned_at',
];

const THIRTY_DAYS = 30 * 86_400;

async function activationTrigger(knex: Knex, columns: string[]): Promise<void> {
  if (engineOf(knex) === 'postgres') {
    await knex.raw('DROP TRIGGER IF EXISTS activations_view_update ON activations');
    await knex.raw(`CREATE TRIGGER activations_view_update AFTER UPDATE ON activations FOR EACH ROW
      WHEN (${columns.map((c) => `OLD.${c} IS DISTINCT FROM NEW.${c}`).join(' OR ')}) EXECUTE FUNCTION licensor_view_row_changed('a')`);
    return;
  }
  await knex.raw('DROP TRIGGER IF EXISTS activations_view_update');
  await knex.raw(`CREATE TRIGGER activations_view_update AFTER UPDATE ON activations
    WHEN ${columns.map((c) => `OLD.${c} IS NOT NEW.${c}`).join(' OR ')} BEGIN ${logViewChange('a', 'NEW')} END`);
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('activations', (t) => {
    t.string('secret_hash', 64).nullable();
    t.bigInteger('fingerprint_changed_at').nullable();
    t.text('replaced_components').nullable();
    t.bigInteger('foreign_beat_at').nullable();
    t.bigInteger('cloned_at').nullable();
  });
  await knex.schema.alterTable('products', (t) => {
    t.integer('fingerprint_change_window_seconds').notNullable().defaultTo(THIRTY_DAYS);
  });
  await activationTrigger(knex, ACTIVATION_VIEW_COLUMNS);
}

export async function down(knex: Knex): Promise<void> {
  await activationTrigger(knex, ACTIVATION_VIEW_COLUMNS.slice(0, 8));
  await knex.schema.alterTable('products', (t) => t.dropColumn('fingerprint_change_window_seconds'));
  await knex.schema.alterTable('activations', (t) => {
    for (const c of ['secret_hash', 'fingerprint_changed_at', 'replaced_components', 'foreign_beat_at', 'cloned_at']) t.dropColumn(c);
  });
}
