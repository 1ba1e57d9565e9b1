import type { Knex } from 'knex';
import { codesChangedFunction } from './005_heartbeat_view_changes';
import { engineOf } from '../database';

/**
 * PostgreSQL: a statement that changes up to 20,000 codes names them all, 200 to a notice, instead
 * of saying "all codes" beyond 200. The sweeper expires 10,000 codes a statement; "all codes" made
 * every server drop every cached heartbeat view at each batch, and the beats of codes that did not
 * expire then read the database again. (SQLite logs a row per code and needs no change.)
 */
export const MAX_CODE_IDS_PER_STATEMENT = 20_000;

export async function up(knex: Knex): Promise<void> {
  if (engineOf(knex) === 'postgres') await knex.raw(codesChangedFunction(MAX_CODE_IDS_PER_STATEMENT));
}

export async function down(knex: Knex): Promise<void> {
  if (engineOf(knex) === 'postgres') await knex.raw(codesChangedFunction(200));
}
