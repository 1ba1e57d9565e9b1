import type { Knex } from 'knex';
import { engineOf } from '../database';
import { codesChangedFunction, notifyChannel, rowChangedFunction } from './005_heartbeat_view_changes';
import { MAX_CODE_IDS_PER_STATEMENT } from './006_bulk_code_change_notices';
import { changedBeyondExpiry } from './008_expiry_without_change_notices';

/**
 * PostgreSQL: every change notice a transaction raises (migration 005) is also recorded in a
 * setting of that transaction, `licensor.raised_notices`, one notice a line, which the
 * transaction reads with its COMMIT (src/storage/heartbeat/view-change-feed.ts). Its own process
 * then applies them to its caches before it answers, instead of a round trip on the listening
 * connection after every commit to be sure they had arrived (read-your-writes). A transaction that
 * raised more than RAISED_AT_MOST characters of notices records `*`: its process waits for them
 * the old way. SQLite logs changes in a table and needs no change.
 */
export const RAISED_NOTICES_SETTING = 'licensor.raised_notices';
const RAISED_AT_MOST = 8000;

const FUNCTION = `
  CREATE OR REPLACE FUNCTION licensor_view_notify(payload text) RETURNS void LANGUAGE plpgsql AS $$
  DECLARE
    -- One notice a line (chr(10)): view-change-feed.ts splits them so.
    raised text := coalesce(current_setting('${RAISED_NOTICES_SETTING}', true), '');
  BEGIN
    PERFORM ${notifyChannel('payload')};
    IF raised = '' THEN
      raised := payload;
    ELSIF raised <> '*' THEN
      raised := CASE WHEN length(raised) + length(payload) >= ${RAISED_AT_MOST} THEN '*' ELSE raised || chr(10) || payload END;
    END IF;
    PERFORM set_config('${RAISED_NOTICES_SETTING}', raised, true);
  END $$`;

const recorded = (payload: string) => `licensor_view_notify(${payload})`;

export async function up(knex: Knex): Promise<void> {
  if (engineOf(knex) !== 'postgres') return;
  await knex.raw(FUNCTION);
  await knex.raw(rowChangedFunction(recorded));
  await knex.raw(codesChangedFunction(MAX_CODE_IDS_PER_STATEMENT, changedBeyondExpiry, recorded));
}

export async function down(knex: Knex): Promise<void> {
  if (engineOf(knex) !== 'postgres') return;
  await knex.raw(rowChangedFunction(notifyChannel));
  await knex.raw(codesChangedFunction(MAX_CODE_IDS_PER_STATEMENT, changedBeyondExpiry, notifyChannel));
  await knex.raw('DROP FUNCTION licensor_view_notify(text)');
}
