import type { Knex } from 'knex';

/**
 * Seat policies (docs/policies.md): churn limits and soft reclaim on the product, the published
 * version for update notices, "N machines, M at a time" on the code, and the in-use slot of an
 * activation. Every default keeps the behaviour from before this migration.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('products', (t) => {
    // eager: the sweeper culls lapsed floating seats; soft: only an activation that needs the seat does.
    t.string('reclaim', 16).notNullable().defaultTo('eager');
    // Activations + deactivations of one code per period; null = unlimited.
    t.integer('churn_limit').nullable();
    t.integer('churn_period_seconds').notNullable().defaultTo(86_400);
    t.string('latest_version', 64).nullable();
    t.string('minimum_version', 64).nullable();
  });

  await knex.schema.alterTable('codes', (t) => {
    // M of "N machines, M at a time"; null = every registered machine may be in use at once.
    t.integer('max_concurrent').nullable();
  });

  await knex.schema.alterTable('activations', (t) => {
    // End of the in-use slot last granted (= the lease token's exp), on codes with max_concurrent.
    t.bigInteger('in_use_until').nullable();
  });

  // Seat changes that count against a code's churn limit, kept for the longest period allowed.
  await knex.schema.createTable('activation_churn', (t) => {
    t.string('id', 36).primary();
    t.string('code_id', 36).notNullable().references('codes.id');
    t.string('activation_id', 36).notNullable();
    t.string('kind', 16).notNullable();
    t.bigInteger('at').notNullable();
    t.index(['code_id', 'at']);
    t.index(['at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('activation_churn');
  await knex.schema.alterTable('activations', (t) => t.dropColumn('in_use_until'));
  await knex.schema.alterTable('codes', (t) => t.dropColumn('max_concurrent'));
  await knex.schema.alterTable('products', (t) => {
    for (const c of ['reclaim', 'churn_limit', 'churn_period_seconds', 'latest_version', 'minimum_version']) t.dropColumn(c);
  });
}
