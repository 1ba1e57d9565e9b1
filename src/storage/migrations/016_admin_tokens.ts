import type { Knex } from 'knex';

/**
 * Named admin tokens with a scope (docs/operations.md "Admin tokens"). Only the SHA-256 of a token
 * is kept: tokens are 32 random bytes, so a digest cannot be turned back by guessing. A revoked
 * token keeps its row, so the audit trail's actor names stay explained.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('admin_tokens', (t) => {
    t.string('id', 36).primary();
    t.string('name', 64).notNullable().unique();
    t.string('token_hash', 64).notNullable().unique();
    // read | codes | full
    t.string('scope', 16).notNullable();
    // JSON list of product names a `codes` token may issue and renew codes for; null otherwise.
    t.text('products');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('revoked_at');
    t.bigInteger('last_used_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('admin_tokens');
}
