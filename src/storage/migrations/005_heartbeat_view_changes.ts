import type { Knex } from 'knex';
import { engineOf } from '../database';

/**
 * Change signals for the in-memory heartbeat view (src/storage/heartbeat/heartbeat-view-cache.ts), raised by
 * the database itself so no write path — the server, the CLI, another server process, a bulk
 * statement — can forget one. An activation's liveness (last_heartbeat_at) is not a change: it is
 * written for every beat, and the cache keeps it itself.
 *
 * SQLite: a change log table that each process reads after its own commits and polls for other
 * processes' (one writer at a time, so sequence order is commit order).
 * PostgreSQL: NOTIFY on one channel, delivered at commit to every listening process; a statement
 * that changes many codes lists them in notices of 200 ids, up to a bound past which it says "all
 * codes" (`codesChangedFunction`; migration 006 raised the bound for the sweeper's batches).
 */
export const VIEW_CHANGE_CHANNEL = 'licensor_view_changes';

/** Activation columns the heartbeat decides on or answers with: every one but last_heartbeat_at. */
const ACTIVATION_VIEW_COLUMNS = ['code_id', 'product_id', 'fingerprint', 'environment', 'status', 'clone_suspect', 'ended_at', 'in_use_until'];

/**
 * Code columns of the view: every one but `revision`, which only takes the code's lock (every
 * activation and every beat on an M-of-N code bumps it) and changes nothing a heartbeat reads.
 */
export const CODE_VIEW_COLUMNS = [
  'product_id',
  'code',
  'status',
  'seats',
  'max_concurrent',
  'features',
  'expires_at',
  'first_activated_at',
  'metadata',
  'test',
  'created_at',
  'updated_at',
];

/** A notice lists at most this many ids (NOTIFY payloads stop at 8,000 bytes). */
const IDS_PER_NOTICE = 200;

/** The call that raises a notice, as migration 005 made it (migration 019 also records it for the transaction's own process). */
export const notifyChannel = (payload: string) => `pg_notify('${VIEW_CHANGE_CHANNEL}', ${payload})`;

/** The rule migrations 005 and 006 made: a code changed when any column of its view did. */
function everyViewColumn(oldRow: string, newRow: string): string {
  const row = (alias: string) => `(${CODE_VIEW_COLUMNS.map((c) => `${alias}.${c}`).join(', ')})`;
  return `${row(oldRow)} IS DISTINCT FROM ${row(newRow)}`;
}

/**
 * The statement-level trigger function for codes: the ids of the codes a statement really changed
 * (not only their lock), in notices of up to 200 ids; a statement that changed more than
 * `maxIds` sends one "all codes" notice instead. Migration 005 made it with 200 (one notice),
 * migration 006 with more, so that the sweeper's batches name their codes.
 */
export function codesChangedFunction(
  maxIds: number,
  changedRows: (oldRow: string, newRow: string) => string = everyViewColumn,
  notify: (payload: string) => string = notifyChannel,
): string {
  if (!Number.isInteger(maxIds / IDS_PER_NOTICE) || maxIds <= 0) throw new RangeError(`maxIds must be a positive multiple of ${IDS_PER_NOTICE}`);
  const inChunks = (rows: string) =>
    `SELECT array_agg(listed) INTO chunks FROM (
       SELECT string_agg(id, ',') AS listed FROM (
         SELECT id, (row_number() OVER () - 1) / ${IDS_PER_NOTICE} AS chunk FROM (${rows} LIMIT ${maxIds + 1}) r) numbered
        GROUP BY chunk) grouped;`;
  // The function's plan is made once per session and kept, with the row counts of the first
  // statement it saw: after a one-code update that is a nested loop, which made a later 20,000-code
  // statement compare every old row with every new one (minutes: docs/performance.md). A hash join is right for
  // every size here, so nested loops are off inside it.
  return `
    CREATE OR REPLACE FUNCTION licensor_view_codes_changed() RETURNS trigger LANGUAGE plpgsql SET enable_nestloop = off AS $$
    DECLARE
      chunks text[];
      notice text;
    BEGIN
      IF TG_OP = 'DELETE' THEN
        ${inChunks('SELECT id FROM old_codes')}
      ELSE
        ${inChunks(`SELECT n.id FROM new_codes n JOIN old_codes o ON o.id = n.id WHERE ${changedRows('o', 'n')}`)}
      END IF;
      IF cardinality(chunks) > ${maxIds / IDS_PER_NOTICE} THEN
        PERFORM ${notify("'c:*'")};
      ELSIF chunks IS NOT NULL THEN
        FOREACH notice IN ARRAY chunks LOOP
          PERFORM ${notify("'c:' || notice")};
        END LOOP;
      END IF;
      RETURN NULL;
    END $$`;
}

/** The row-level trigger function: `<entity>:<id>` of the row changed, the entity the trigger's argument. */
export function rowChangedFunction(notify: (payload: string) => string = notifyChannel): string {
  return `
    CREATE OR REPLACE FUNCTION licensor_view_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM ${notify("TG_ARGV[0] || ':' || (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END)")};
      RETURN NULL;
    END $$`;
}

/** SQLite: the statement a trigger runs to log a change of one row. */
export function logViewChange(entity: 'a' | 'c' | 'p' | 'w', row: 'NEW' | 'OLD'): string {
  return `INSERT INTO view_changes (entity, entity_id, at) VALUES ('${entity}', ${row}.id, CAST(strftime('%s', 'now') AS INTEGER) * 1000);`;
}

/** PostgreSQL's trigger of code changes, once per statement; `when` a condition on its call (migration 020). */
export function codesUpdateTrigger(when?: string): string {
  return `CREATE TRIGGER codes_view_update AFTER UPDATE ON codes REFERENCING OLD TABLE AS old_codes NEW TABLE AS new_codes
      FOR EACH STATEMENT ${when === undefined ? '' : `WHEN (${when}) `}EXECUTE FUNCTION licensor_view_codes_changed()`;
}

export async function up(knex: Knex): Promise<void> {
  const changed = (column: string, pg: boolean) => (pg ? `OLD.${column} IS DISTINCT FROM NEW.${column}` : `OLD.${column} IS NOT NEW.${column}`);
  if (engineOf(knex) === 'postgres') {
    await knex.raw(rowChangedFunction());
    await knex.raw(codesChangedFunction(IDS_PER_NOTICE));
    await knex.raw(`CREATE TRIGGER activations_view_update AFTER UPDATE ON activations FOR EACH ROW
      WHEN (${ACTIVATION_VIEW_COLUMNS.map((c) => changed(c, true)).join(' OR ')}) EXECUTE FUNCTION licensor_view_row_changed('a')`);
    await knex.raw(`CREATE TRIGGER activations_view_delete AFTER DELETE ON activations FOR EACH ROW EXECUTE FUNCTION licensor_view_row_changed('a')`);
    await knex.raw(`CREATE TRIGGER products_view_change AFTER UPDATE OR DELETE ON products FOR EACH ROW EXECUTE FUNCTION licensor_view_row_changed('p')`);
    await knex.raw(codesUpdateTrigger());
    await knex.raw(
      `CREATE TRIGGER codes_view_delete AFTER DELETE ON codes REFERENCING OLD TABLE AS old_codes FOR EACH STATEMENT EXECUTE FUNCTION licensor_view_codes_changed()`,
    );
    return;
  }

  await knex.schema.createTable('view_changes', (t) => {
    t.increments('seq').primary();
    // 'a' activation, 'c' code, 'p' product; 'w' webhook endpoint (migration 017).
    t.string('entity', 1).notNullable();
    t.string('entity_id', 36).notNullable();
    t.bigInteger('at').notNullable();
    t.index(['at']);
  });
  await knex.raw(`CREATE TRIGGER activations_view_update AFTER UPDATE ON activations
    WHEN ${ACTIVATION_VIEW_COLUMNS.map((c) => changed(c, false)).join(' OR ')} BEGIN ${logViewChange('a', 'NEW')} END`);
  await knex.raw(`CREATE TRIGGER activations_view_delete AFTER DELETE ON activations BEGIN ${logViewChange('a', 'OLD')} END`);
  await knex.raw(`CREATE TRIGGER codes_view_update AFTER UPDATE ON codes
    WHEN ${CODE_VIEW_COLUMNS.map((c) => changed(c, false)).join(' OR ')} BEGIN ${logViewChange('c', 'NEW')} END`);
  await knex.raw(`CREATE TRIGGER codes_view_delete AFTER DELETE ON codes BEGIN ${logViewChange('c', 'OLD')} END`);
  await knex.raw(`CREATE TRIGGER products_view_update AFTER UPDATE ON products BEGIN ${logViewChange('p', 'NEW')} END`);
  await knex.raw(`CREATE TRIGGER products_view_delete AFTER DELETE ON products BEGIN ${logViewChange('p', 'OLD')} END`);
}

export async function down(knex: Knex): Promise<void> {
  for (const [trigger, table] of [
    ['activations_view_update', 'activations'],
    ['activations_view_delete', 'activations'],
    ['codes_view_update', 'codes'],
    ['codes_view_delete', 'codes'],
    ['products_view_update', 'products'],
    ['products_view_delete', 'products'],
    ['products_view_change', 'products'],
  ]) {
    await knex.raw(engineOf(knex) === 'postgres' ? `DROP TRIGGER IF EXISTS ${trigger} ON ${table}` : `DROP TRIGGER IF EXISTS ${trigger}`);
  }
  if (engineOf(knex) === 'postgres') {
    await knex.raw('DROP FUNCTION IF EXISTS licensor_view_row_changed()');
    await knex.raw('DROP FUNCTION IF EXISTS licensor_view_codes_changed()');
  }
  await knex.schema.dropTableIfExists('view_changes');
}
