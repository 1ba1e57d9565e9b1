import type { Knex } from 'knex';

/** One schema for SQLite and PostgreSQL. Times are epoch milliseconds (BIGINT); JSON is stored as text. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('products', (t) => {
    t.string('id', 36).primary();
    t.string('name', 200).notNullable().unique();
    t.string('seat_mode', 16).notNullable();
    t.integer('lease_seconds').notNullable();
    t.integer('heartbeat_interval_seconds').notNullable();
    t.string('match_strategy', 16).notNullable();
    t.bigInteger('created_at').notNullable();
  });

  await knex.schema.createTable('codes', (t) => {
    t.string('id', 36).primary();
    t.string('product_id', 36).notNullable().references('products.id');
    t.string('code', 32).notNullable().unique();
    t.string('status', 16).notNullable();
    t.integer('seats').notNullable();
    t.text('features').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('first_activated_at').nullable();
    t.text('metadata').notNullable();
    t.boolean('test').notNullable().defaultTo(false);
    // Bumped by every locking transaction: the first write takes the row (PostgreSQL) or database (SQLite) lock.
    t.integer('revision').notNullable().defaultTo(0);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['status', 'expires_at']);
    t.index(['product_id', 'created_at']);
    t.index(['created_at', 'id']);
  });

  await knex.schema.createTable('activations', (t) => {
    t.string('id', 36).primary();
    t.string('code_id', 36).notNullable().references('codes.id');
    t.string('product_id', 36).notNullable().references('products.id');
    t.text('fingerprint').notNullable();
    t.text('environment').notNullable();
    t.string('status', 16).notNullable();
    t.boolean('clone_suspect').notNullable().defaultTo(false);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('last_heartbeat_at').notNullable();
    t.bigInteger('ended_at').nullable();
    t.index(['code_id', 'status']);
    t.index(['status', 'last_heartbeat_at']);
  });

  // Anchor hashes of every activation, for clone detection (same anchor on two live machines).
  await knex.schema.createTable('activation_anchors', (t) => {
    t.string('activation_id', 36).notNullable().references('activations.id');
    t.string('product_id', 36).notNullable();
    t.string('component', 64).notNullable();
    t.string('hash', 128).notNullable();
    t.primary(['activation_id', 'component', 'hash']);
    t.index(['product_id', 'component', 'hash']);
  });

  await knex.schema.createTable('audit_events', (t) => {
    t.string('id', 36).primary();
    t.bigInteger('at').notNullable();
    t.string('actor', 200).notNullable();
    t.string('action', 64).notNullable();
    t.string('entity_type', 16).notNullable();
    t.string('entity_id', 64).notNullable();
    t.string('code_id', 36).nullable();
    t.text('before').nullable();
    t.text('after').nullable();
    t.index(['code_id', 'at']);
    t.index(['entity_id', 'at']);
    t.index(['at', 'id']);
  });

  await knex.schema.createTable('signing_keys', (t) => {
    t.string('kid', 64).primary();
    t.integer('generation').notNullable().unique();
    t.string('alg', 16).notNullable();
    t.text('public_jwk').notNullable();
    t.text('private_key_pem').notNullable();
    t.string('status', 16).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('retired_at').nullable();
    t.bigInteger('publish_until').nullable();
  });

  // Remembered answers for retried requests (marketplace orders, Idempotency-Key).
  await knex.schema.createTable('idempotency_records', (t) => {
    t.string('scope', 64).notNullable();
    t.string('key', 256).notNullable();
    t.string('request_hash', 64).notNullable();
    t.integer('status_code').notNullable();
    t.text('response').notNullable();
    t.bigInteger('created_at').notNullable();
    t.primary(['scope', 'key']);
  });

  // Seen request nonces, shared by every server process so a replay is refused anywhere.
  await knex.schema.createTable('nonces', (t) => {
    t.string('nonce', 128).primary();
    t.bigInteger('seen_at').notNullable();
    t.bigInteger('expires_at').notNullable().index();
  });

  await knex.schema.createTable('usage_reports', (t) => {
    t.string('code_id', 36).notNullable().references('codes.id');
    t.string('day', 10).notNullable();
    t.text('payload').notNullable();
    t.bigInteger('reported_at').notNullable();
    t.primary(['code_id', 'day']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'usage_reports',
    'nonces',
    'idempotency_records',
    'signing_keys',
    'audit_events',
    'activation_anchors',
    'activations',
    'codes',
    'products',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
