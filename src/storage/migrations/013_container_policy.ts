import type { Knex } from 'knex';

/**
 * Containers (docs/policies.md "Containers"): a product either refuses them (their machine id
 * belongs to their image, so node-locking means nothing there), or licenses each container
 * instance with a floating seat bound to the instance identity its client keeps.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('products', (t) => {
    t.string('containers', 16).notNullable().defaultTo('refuse');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('products', (t) => t.dropColumn('containers'));
}
