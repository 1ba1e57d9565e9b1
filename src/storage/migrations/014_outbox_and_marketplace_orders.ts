import type { Knex } from 'knex';
import { engineOf } from '../database';

/**
 * Calls licensor owes to others, delivered by a worker (src/jobs/outbox-worker.ts), and what the
 * marketplace's orders said (docs/marketplace.md "licensor calls the marketplace"):
 *
 * * `outbox`: one row per call owed, written in the transaction that made it owed, delivered at
 *   least once, in order per target, retried with backoff across restarts; claimed with a lease so
 *   that server processes sharing a PostgreSQL database deliver each entry once between them.
 * * `marketplace_instances` learns the order line's charging mode, period and quantity
 *   (order/query), and `marketplace_licenses` when an owed license was uploaded.
 * * `codes.code` takes the marketplace's own License 2.0 codes (up to 64 characters, kept as written).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('outbox', (t) => {
    t.string('id', 36).primary();
    // What to deliver (a handler's name, e.g. marketplace.order-query) and to whom: entries of one
    // target are delivered in id order, one at a time.
    t.string('kind', 64).notNullable();
    t.string('target', 200).notNullable();
    // Enqueued once per (kind, key): a second enqueue of the same key is ignored. Null: no key.
    t.string('dedupe_key', 200).nullable();
    t.text('payload').notNullable();
    // pending → delivered, or failed (given up: permanently refused, or retried past the limit).
    t.string('status', 16).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('next_attempt_at').notNullable();
    // A worker's claim: nobody else attempts the entry before lease_until (a dead worker's lapses).
    t.bigInteger('lease_until').nullable();
    t.string('leased_by', 64).nullable();
    t.text('last_error').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('delivered_at').nullable();
    t.unique(['kind', 'dedupe_key']);
    t.index(['status', 'next_attempt_at']);
    t.index(['target', 'status', 'id']);
    t.index(['created_at', 'id']);
  });

  await knex.schema.alterTable('marketplace_instances', (t) => {
    // From order/query: ON_DEMAND, ONE_TIME, PERIOD or ON_DEMAND_PKG; year/month × n; linearValue.
    t.string('charging_mode', 32).nullable();
    t.string('period_type', 16).nullable();
    t.integer('period_number').nullable();
    t.integer('quantity').nullable();
    t.bigInteger('order_checked_at').nullable();
  });

  await knex.schema.alterTable('marketplace_licenses', (t) => {
    t.bigInteger('uploaded_at').nullable();
  });

  // SQLite does not enforce a varchar length; PostgreSQL does.
  if (engineOf(knex) === 'postgres') await knex.raw('ALTER TABLE codes ALTER COLUMN code TYPE varchar(64)');
}

export async function down(knex: Knex): Promise<void> {
  if (engineOf(knex) === 'postgres') await knex.raw('ALTER TABLE codes ALTER COLUMN code TYPE varchar(32)');
  await knex.schema.alterTable('marketplace_licenses', (t) => t.dropColumn('uploaded_at'));
  await knex.schema.alterTable('marketplace_instances', (t) => {
    for (const column of ['charging_mode', 'period_type', 'period_number', 'quantity', 'order_checked_at']) t.dropColumn(column);
  });
  await knex.schema.dropTableIfExists('outbox');
}
