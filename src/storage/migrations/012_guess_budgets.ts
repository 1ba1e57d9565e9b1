import type { Knex } from 'knex';

/**
 * The code-guessing guard's budgets, shared by every server process on PostgreSQL
 * (src/storage/guess-budget-store.ts): one row per address (IPv6 per /64), per code and for all
 * addresses together. SQLite keeps them in memory (one server process per file) and leaves this
 * table empty; it exists on both engines, as every table does.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('guess_budgets', (t) => {
    // `a:<address or /64>`, `c:<digest of the folded code>` or `g` (all addresses).
    t.string('key', 100).primary();
    // Epoch ms at which the budget is full again; rows at or before now are pruned.
    t.bigInteger('full_at').notNullable();
    // burst × interval, ms: how far past now full_at may run when an attempt is taken.
    t.bigInteger('span').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('guess_budgets');
}
