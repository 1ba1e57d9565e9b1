import type { Knex } from 'knex';

/**
 * Webhooks (docs/webhooks.md): endpoints an operator registers, and what each delivery attempt
 * got back. The deliveries themselves are outbox entries of the kind `webhook` (014), one per
 * audit event and endpoint, enqueued in the transaction that wrote the event.
 *
 * * `webhook_endpoints`: the URL, the event types it takes (a JSON list), the signing secret,
 *   whether it is on, and its failure streak (an endpoint failing too long is switched off).
 * * `webhook_attempts`: one row per attempt, for the operator's view: status and response excerpt.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_endpoints', (t) => {
    t.string('id', 36).primary();
    t.string('url', 2048).notNullable();
    t.string('description', 200).nullable();
    t.text('events').notNullable();
    // Sealed (enc:v1:…) when LICENSOR_KEY_ENCRYPTION_KEY is set, as signing keys are.
    t.string('secret', 200).notNullable();
    t.boolean('enabled').notNullable();
    // Failed attempts since the last success, and when that streak began (null: none).
    t.integer('failure_streak').notNullable().defaultTo(0);
    t.bigInteger('failing_since').nullable();
    t.bigInteger('disabled_at').nullable();
    t.text('disabled_reason').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.createTable('webhook_attempts', (t) => {
    t.string('id', 36).primary();
    t.string('endpoint_id', 36).notNullable();
    // The outbox entry attempted (it may since have been pruned) and the audit event it announced.
    t.string('outbox_id', 36).notNullable();
    t.string('event_id', 36).notNullable();
    t.bigInteger('at').notNullable();
    t.integer('duration_ms').notNullable();
    t.boolean('ok').notNullable();
    // The receiver's HTTP status, null when there was no answer (refused, timed out, unreachable).
    t.integer('status_code').nullable();
    t.text('response').nullable();
    t.text('error').nullable();
    t.index(['endpoint_id', 'id']);
    t.index(['outbox_id']);
    t.index(['at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('webhook_attempts');
  await knex.schema.dropTableIfExists('webhook_endpoints');
}
