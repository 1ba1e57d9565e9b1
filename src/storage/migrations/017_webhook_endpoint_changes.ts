import type { Knex } from 'knex';
import { engineOf } from '../database';
import { logViewChange } from './005_heartbeat_view_changes';

/**
 * Change signals for webhook endpoints ('w'), through the same channel as the heartbeat views'
 * (migration 005): every audited write asks which endpoints take its events, and each process
 * keeps the answer in memory (src/storage/change-fed-cache.ts) until an endpoint is added,
 * switched on or off, given other events, or removed, by any process. A delivery's bookkeeping
 * (failure streaks, times) changes nothing enqueuing reads, and raises no change.
 */
const TRIGGERS = ['webhook_endpoints_view_insert', 'webhook_endpoints_view_update', 'webhook_endpoints_view_delete'];

export async function up(knex: Knex): Promise<void> {
  if (engineOf(knex) === 'postgres') {
    await knex.raw(`CREATE TRIGGER webhook_endpoints_view_change AFTER INSERT OR DELETE OR UPDATE OF enabled, events ON webhook_endpoints
      FOR EACH ROW EXECUTE FUNCTION licensor_view_row_changed('w')`);
    return;
  }
  await knex.raw(`CREATE TRIGGER ${TRIGGERS[0]} AFTER INSERT ON webhook_endpoints BEGIN ${logViewChange('w', 'NEW')} END`);
  await knex.raw(`CREATE TRIGGER ${TRIGGERS[1]} AFTER UPDATE OF enabled, events ON webhook_endpoints BEGIN ${logViewChange('w', 'NEW')} END`);
  await knex.raw(`CREATE TRIGGER ${TRIGGERS[2]} AFTER DELETE ON webhook_endpoints BEGIN ${logViewChange('w', 'OLD')} END`);
}

export async function down(knex: Knex): Promise<void> {
  if (engineOf(knex) === 'postgres') {
    await knex.raw('DROP TRIGGER IF EXISTS webhook_endpoints_view_change ON webhook_endpoints');
    return;
  }
  for (const trigger of TRIGGERS) await knex.raw(`DROP TRIGGER IF EXISTS ${trigger}`);
}
