import type { Knex } from 'knex';

/**
 * The marketplace compatibility layer (docs/marketplace.md §3, §6). The tables for
 * nonces, idempotency records and usage reports already exist (001); this adds the online-License
 * instances and the licenses answered to getLicenseAsync.
 */
export async function up(knex: Knex): Promise<void> {
  // One row per purchased order line: §6 "same orderId + orderLineId → same instanceId".
  await knex.schema.createTable('marketplace_instances', (t) => {
    t.string('instance_id', 64).primary();
    t.string('order_id', 64).notNullable();
    t.string('order_line_id', 64).notNullable();
    t.string('code_id', 36).notNullable().references('codes.id');
    t.boolean('test').notNullable().defaultTo(false);
    t.bigInteger('created_at').notNullable();
    t.unique(['order_id', 'order_line_id']);
    t.index(['code_id']);
    t.index(['created_at', 'instance_id']);
  });

  // One row per license application: §6 "same eventId + deviceFingerprint → the same License".
  await knex.schema.createTable('marketplace_licenses', (t) => {
    t.string('event_id', 64).notNullable();
    // SHA-256 (hex) of the deviceFingerprint exactly as sent; of "" when none was sent.
    t.string('fingerprint_hash', 64).notNullable();
    t.string('instance_id', 64).notNullable();
    t.string('code_id', 36).notNullable().references('codes.id');
    t.text('device_fingerprint').nullable();
    t.string('activation_id', 36).nullable();
    // pending: answered 000004, the license is still owed; ready: `license` holds the exact bytes answered.
    t.string('status', 16).notNullable();
    t.text('license').nullable();
    t.boolean('test').notNullable().defaultTo(false);
    t.bigInteger('requested_at').notNullable();
    t.bigInteger('delivered_at').nullable();
    t.primary(['event_id', 'fingerprint_hash']);
    t.index(['status', 'requested_at']);
    t.index(['instance_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('marketplace_licenses');
  await knex.schema.dropTableIfExists('marketplace_instances');
}
