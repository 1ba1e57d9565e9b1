import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

export type EngineName = 'sqlite' | 'postgres';

/** Where the PostgreSQL suite connects to create its own throw-away databases. */
export const PG_ADMIN_URL = process.env.LICENSOR_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** CI must run the PostgreSQL suite for real; locally it may be missing, and then we say so loudly. */
export const PG_REQUIRED = process.env.CI === 'true' || process.env.LICENSOR_REQUIRE_PG === '1';

let pgAvailable: Promise<boolean> | null = null;

export function postgresAvailable(): Promise<boolean> {
  pgAvailable ??= (async () => {
    const client = new Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch (err) {
      if (PG_REQUIRED) throw new Error(`PostgreSQL is required (CI) but unreachable at ${PG_ADMIN_URL}: ${String(err)}`);
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return pgAvailable;
}

let warned = false;
export function warnPostgresSkipped(): void {
  if (warned) return;
  warned = true;
  const bar = '!'.repeat(78);
  console.warn(
    `\n${bar}\n!! PostgreSQL is not reachable at ${PG_ADMIN_URL}:\n!! THE POSTGRESQL SUITE DID NOT RUN. (CI runs it and fails without it.)\n${bar}\n`,
  );
}

/** For a suite of PostgreSQL only: skips it, loudly, where PostgreSQL is not reachable (CI fails instead). */
export async function skipWithoutPostgres(suite: Mocha.Context): Promise<void> {
  if (await postgresAvailable()) return;
  warnPostgresSkipped();
  suite.skip();
}

/** A fresh, empty database on the given engine, and how to remove it. */
export interface TestDatabase {
  engine: EngineName;
  dataDir: string;
  databaseUrl: string | undefined;
  drop(): Promise<void>;
}

export async function createTestDatabase(engine: EngineName): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'licensor-test-'));
  if (engine === 'sqlite') {
    return { engine, dataDir, databaseUrl: undefined, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const name = `licensor_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    engine,
    dataDir,
    databaseUrl: url.toString(),
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
      const c = new Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * Declares a suite once per engine. The PostgreSQL copy runs against the real server, creates
 * its own database and drops it afterwards.
 */
export function forEachEngine(title: string, body: (engine: EngineName) => void): void {
  for (const engine of ['sqlite', 'postgres'] as const) {
    describe(`${title} [${engine}]`, function () {
      if (engine === 'postgres') {
        before(async function () {
          await skipWithoutPostgres(this);
        });
      }
      body(engine);
    });
  }
}
