import type { Knex } from 'knex';
import { engineOf } from '../database';

/**
 * Codes by expiry date, (expires_at, id), in place of (status, expires_at), and half-empty
 * PostgreSQL pages for codes. Together they let PostgreSQL expire a code in place (a HOT update):
 * no index holds `status` any more, and the new row version fits on its page. A cohort that lapses
 * together was issued together, so its rows share pages, and every row of a page changes in one
 * statement: the page needs room for all of them. In place, an expiry takes about half the time
 * and a quarter of the WAL (docs/performance.md#why-codes-are-indexed-by-expiry-date). The cost is
 * twice the table's heap.
 *
 * Existing rows keep their full pages until the table is rewritten (`VACUUM FULL codes`, at a quiet
 * time); new codes get the room at once. The sweeper walks the date index from where its last run
 * ended, kept in `sweeper_progress` (src/domain/sweeper.ts), so no index needs the status.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('codes', (t) => {
    t.index(['expires_at', 'id']);
  });
  await knex.schema.alterTable('codes', (t) => {
    t.dropIndex(['status', 'expires_at']);
  });
  if (engineOf(knex) === 'postgres') await knex.raw('ALTER TABLE codes SET (fillfactor = 50)');
  await knex.schema.createTable('sweeper_progress', (t) => {
    t.string('name', 32).primary();
    t.bigInteger('expired_through').nullable();
    t.bigInteger('released_through').nullable();
    t.bigInteger('full_pass_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sweeper_progress');
  if (engineOf(knex) === 'postgres') await knex.raw('ALTER TABLE codes RESET (fillfactor)');
  await knex.schema.alterTable('codes', (t) => {
    t.index(['status', 'expires_at']);
  });
  await knex.schema.alterTable('codes', (t) => {
    t.dropIndex(['expires_at', 'id']);
  });
}
