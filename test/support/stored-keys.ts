import { join } from 'node:path';
import { openDatabase, type Database } from '../../src/storage/database';
import type { TestDatabase } from './databases';

export interface StoredKey {
  kid: string;
  generation: number;
  status: string;
  /** As stored: PEM, `enc:v1:…` when sealed, null once retired. */
  private_key_pem: string | null;
}

/** Work on a test database through a connection of its own, beside any licensor using it. */
export async function besideLicensor<T>(db: TestDatabase, work: (database: Database) => Promise<T>): Promise<T> {
  const database = openDatabase({ databaseUrl: db.databaseUrl, sqliteFile: join(db.dataDir, 'licensor.db') });
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

/** The signing_keys table as stored, oldest key first. */
export function storedKeys(db: TestDatabase): Promise<StoredKey[]> {
  return besideLicensor(db, (database) =>
    database.knex<StoredKey>('signing_keys').orderBy('generation').select('kid', 'generation', 'status', 'private_key_pem'),
  );
}

/** Writes a key's stored private half behind licensor's back, as a database edit or a damaged backup would. */
export function writeStoredKey(db: TestDatabase, kid: string, stored: string): Promise<void> {
  return besideLicensor(db, async (database) => {
    await database.knex('signing_keys').where({ kid }).update({ private_key_pem: stored });
  });
}
