import type { Knex } from 'knex';
import * as initial from './migrations/001_initial';
import * as marketplace from './migrations/002_marketplace';
import * as heartbeatStats from './migrations/003_heartbeat_stats';
import * as seatPolicies from './migrations/004_seat_policies';

/** Migrations are compiled in, listed here in order; no file-system discovery. */
const MIGRATIONS: Record<string, { up(k: Knex): Promise<void>; down(k: Knex): Promise<void> }> = {
  '001_initial': initial,
  '002_marketplace': marketplace,
  '003_heartbeat_stats': heartbeatStats,
  '004_seat_policies': seatPolicies,
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
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
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
    e?.name === 'MigrationLocked' ||
    /already locked|already exists|duplicate key|UNIQUE constraint|SQLITE_BUSY|database is locked/i.test(e?.message ?? '')
  );
}
