import type { Knex } from 'knex';

/**
 * Live activations by product: (product_id, status, last_heartbeat_at) in place of (status,
 * last_heartbeat_at). The sweeper looks for lapsed floating seats of one product at a time, and the
 * active-seat counts (the dashboard's sample, /metrics) count one product's live activations; with
 * status first, each of them read every live activation of every product. The index is as costly
 * to keep as the one it replaces: the coalesced liveness write changed last_heartbeat_at in both.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('activations', (t) => {
    t.index(['product_id', 'status', 'last_heartbeat_at']);
  });
  await knex.schema.alterTable('activations', (t) => {
    t.dropIndex(['status', 'last_heartbeat_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('activations', (t) => {
    t.index(['status', 'last_heartbeat_at']);
  });
  await knex.schema.alterTable('activations', (t) => {
    t.dropIndex(['product_id', 'status', 'last_heartbeat_at']);
  });
}
