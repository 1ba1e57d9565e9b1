import type { Knex } from 'knex';
import { Conflict, Unavailable } from '../domain/errors';
import type { HeartbeatView, Repository, Stores } from '../domain/ports';
import { ACTIVATION_COLUMNS, activationFromRow, type ActivationRow } from './activation-store';
import { KnexActivationStore } from './activation-store';
import { KnexAuditStore } from './audit-store';
import { CODE_COLUMNS, codeFromRow, KnexCodeStore, type CodeRow } from './code-store';
import { isConnectionError, isUniqueViolation, type Database } from './database';
import { KnexKeyStore } from './key-store';
import { KnexProductStore, productFromRow } from './product-store';

function storesFor(db: Knex | Knex.Transaction): Stores {
  return {
    products: new KnexProductStore(db),
    codes: new KnexCodeStore(db),
    activations: new KnexActivationStore(db),
    audit: new KnexAuditStore(db),
    keys: new KnexKeyStore(db),
  };
}

/** Prefixed column lists for the one-query heartbeat read. */
const HEARTBEAT_SELECT = [
  ...ACTIVATION_COLUMNS.map((c) => `a.${c} as a_${c}`),
  ...CODE_COLUMNS.map((c) => `c.${c} as c_${c}`),
  ...['id', 'name', 'seat_mode', 'lease_seconds', 'heartbeat_interval_seconds', 'match_strategy', 'created_at'].map((c) => `p.${c} as p_${c}`),
];

function unprefix<T>(row: Record<string, unknown>, prefix: string): T {
  const out: Record<string, unknown> = {};
  for (const key in row) if (key.startsWith(prefix)) out[key.slice(prefix.length)] = row[key];
  return out as T;
}

export class KnexRepository implements Repository {
  readonly products;
  readonly codes;
  readonly activations;
  readonly audit;
  readonly keys;
  private readonly localLocks = new Set<string>();

  constructor(private readonly database: Database) {
    const stores = storesFor(database.knex);
    this.products = stores.products;
    this.codes = stores.codes;
    this.activations = stores.activations;
    this.audit = stores.audit;
    this.keys = stores.keys;
  }

  async transaction<T>(work: (tx: Stores) => Promise<T>): Promise<T> {
    try {
      return await this.database.knex.transaction((trx) => work(storesFor(trx)));
    } catch (err) {
      throw translate(err);
    }
  }

  async readForHeartbeat(activationId: string): Promise<HeartbeatView | undefined> {
    const row = await this.database.reader('activations as a')
      .join('codes as c', 'c.id', 'a.code_id')
      .join('products as p', 'p.id', 'a.product_id')
      .select(HEARTBEAT_SELECT)
      .where('a.id', activationId)
      .first()
      .catch((err: unknown) => {
        throw translate(err);
      });
    if (!row) return undefined;
    return {
      activation: activationFromRow(unprefix<ActivationRow>(row, 'a_')),
      code: codeFromRow(unprefix<CodeRow>(row, 'c_')),
      product: productFromRow(unprefix(row, 'p_')),
    };
  }

  async exclusively<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
    if (this.localLocks.has(name)) return undefined;
    this.localLocks.add(name);
    try {
      if (this.database.engine === 'sqlite') return await work();
      return await this.withAdvisoryLock(name, work);
    } finally {
      this.localLocks.delete(name);
    }
  }

  /** A session-level advisory lock on a dedicated connection: released on unlock or if the process dies. */
  private async withAdvisoryLock<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
    const knex = this.database.knex;
    const conn = await knex.client.acquireConnection();
    try {
      const got = await knex.raw('SELECT pg_try_advisory_lock(hashtext(?)) AS ok', [`licensor:${name}`]).connection(conn);
      if (!got.rows[0]?.ok) return undefined;
      try {
        return await work();
      } finally {
        await knex.raw('SELECT pg_advisory_unlock(hashtext(?))', [`licensor:${name}`]).connection(conn);
      }
    } finally {
      await knex.client.releaseConnection(conn);
    }
  }
}

/** Storage failures the domain can name: duplicates become conflicts, a lost database becomes 503. */
export function translate(err: unknown): unknown {
  if (isUniqueViolation(err)) return new Conflict('duplicate', 'a record with the same unique value already exists');
  if (isConnectionError(err)) return new Unavailable('database_unavailable', 'the database is not reachable; try again shortly');
  return err;
}
