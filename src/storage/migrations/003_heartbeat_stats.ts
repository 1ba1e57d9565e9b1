import type { Knex } from 'knex';

/**
 * Heartbeats and active seats per product per minute, for the dashboard's chart. Beats are
 * added by every server process's coalesced flush; active seats are a sample the sweeper writes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('heartbeat_stats', (t) => {
    // Start of the minute, epoch milliseconds.
    t.bigInteger('minute').notNullable();
    t.string('product_id', 36).notNullable();
    t.integer('beats').notNullable().defaultTo(0);
    // Null until the sweeper has sampled this minute.
    t.integer('active_seats').nullable();
    t.primary(['minute', 'product_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('heartbeat_stats');
}
