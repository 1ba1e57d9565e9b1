import type { Knex } from 'knex';
import * as initial from './migrations/001_initial';
import * as marketplace from './migrations/002_marketplace';
import * as heartbeatStats from './migrations/003_heartbeat_stats';
import * as seatPolicies from './migrations/004_seat_policies';
import * as heartbeatViewChanges from './migrations/005_heartbeat_view_changes';
import * as bulkCodeChangeNotices from './migrations/006_bulk_code_change_notices';
import * as activationsByProduct from './migrations/007_activations_by_product';
import * as expiryWithoutChangeNotices from './migrations/008_expiry_without_change_notices';
import * as codesByExpiryDate from './migrations/009_codes_by_expiry_date';
import * as activationPossession from './migrations/010_activation_possession';
import * as keyEndorsements from './migrations/011_key_endorsements';
import * as guessBudgets from './migrations/012_guess_budgets';
import * as containerPolicy from './migrations/013_container_policy';
import * as outboxAndMarketplaceOrders from './migrations/014_outbox_and_marketplace_orders';
import * as webhooks from './migrations/015_webhooks';
import * as adminTokens from './migrations/016_admin_tokens';
import * as webhookEndpointChanges from './migrations/017_webhook_endpoint_changes';
import * as codeLiveSeats from './migrations/018_code_live_seats';
import * as raisedNotices from './migrations/019_raised_notices';
import * as seatCountsWithoutNotices from './migrations/020_seat_counts_without_notices';
import * as seatCountPerInsertedRow from './migrations/021_seat_count_per_inserted_row';

/** Migrations are compiled in, listed here in order; no file-system discovery. */
export const MIGRATIONS: Record<string, { up(k: Knex): Promise<void>; down(k: Knex): Promise<void> }> = {
  '001_initial': initial,
  '002_marketplace': marketplace,
  '003_heartbeat_stats': heartbeatStats,
  '004_seat_policies': seatPolicies,
  '005_heartbeat_view_changes': heartbeatViewChanges,
  '006_bulk_code_change_notices': bulkCodeChangeNotices,
  '007_activations_by_product': activationsByProduct,
  '008_expiry_without_change_notices': expiryWithoutChangeNotices,
  '009_codes_by_expiry_date': codesByExpiryDate,
  '010_activation_possession': activationPossession,
  '011_key_endorsements': keyEndorsements,
  '012_guess_budgets': guessBudgets,
  '013_container_policy': containerPolicy,
  '014_outbox_and_marketplace_orders': outboxAndMarketplaceOrders,
  '015_webhooks': webhooks,
  '016_admin_tokens': adminTokens,
  '017_webhook_endpoint_changes': webhookEndpointChanges,
  '018_code_live_seats': codeLiveSeats,
  '019_raised_notices': raisedNotices,
  '020_seat_counts_without_notices': seatCountsWithoutNotices,
  '021_seat_count_per_inserted_row': seatCountPerInsertedRow,
};

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name]!,
};

const config: Knex.MigratorConfig = { migrationSource: source, tableName: 'licensor_migrations' };

/**
 * Brings the schema up to date. Another process migrating at the same moment holds knex's
 * migration lock (or wins the race to create the bookkeeping tables); we wait and retry until
 * the schema is current, instead of failing or migrating twice.
 */
export async function migrateToLatest(knex: Knex, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await knex.migrate.latest(config);
      return;
    } catch (err) {
      if (Date.now() > deadline || !isConcurrentMigration(err)) throw err;
      await removeDuplicateLockRows(knex);
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
}

/**
 * Two processes creating the bookkeeping tables at once can both insert knex's single lock row.
 * knex then reads "already locked" forever (it takes the lock by updating exactly one unlocked
 * row), so every process waits for a lock nobody holds. Extra unlocked rows are removed; a row that
 * is locked means a migration really is running and is left alone.
 */
async function removeDuplicateLockRows(knex: Knex): Promise<void> {
  const table = `${config.tableName}_lock`;
  try {
    const rows = (await knex(table).select('index', 'is_locked').orderBy('index')) as Array<{ index: number; is_locked: number | boolean }>;
    if (rows.length < 2 || rows.some((r) => Number(r.is_locked) !== 0)) return;
    await knex(table).where('index', '>', rows[0]!.index).andWhere('is_locked', 0).delete();
  } catch {
    // The table may not exist yet, or another process holds the database: the next attempt sees.
  }
}

/** True when every known migration has run (readiness). */
export async function migrationsCurrent(knex: Knex): Promise<boolean> {
  const [, pending] = (await knex.migrate.list(config)) as [unknown[], unknown[]];
  return pending.length === 0;
}

function isConcurrentMigration(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: string };
  return (
    e?.name === 'MigrationLocked' || /already locked|already exists|duplicate key|UNIQUE constraint|SQLITE_BUSY|database is locked/i.test(e?.message ?? '')
  );
}
