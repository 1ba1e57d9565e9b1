import type { Knex } from 'knex';
import type { ProductStore } from '../domain/ports';
import { readThrough, type FedBy } from './change-fed-cache';
import type { PolicySetting, ContainerPolicy, MatchStrategy, Product, ReclaimMode, SeatMode } from '../domain/types';
import { numberOrNull } from './rows';

interface ProductRow {
  id: string;
  name: string;
  seat_mode: string;
  lease_seconds: number;
  heartbeat_interval_seconds: number;
  match_strategy: string;
  reclaim: string;
  churn_limit: number | null;
  churn_period_seconds: number;
  fingerprint_change_window_seconds: number;
  containers: string;
  latest_version: string | null;
  minimum_version: string | null;
  created_at: number;
}

export const PRODUCT_COLUMNS: string[] = [
  'id',
  'name',
  'seat_mode',
  'lease_seconds',
  'heartbeat_interval_seconds',
  'match_strategy',
  'reclaim',
  'churn_limit',
  'churn_period_seconds',
  'fingerprint_change_window_seconds',
  'containers',
  'latest_version',
  'minimum_version',
  'created_at',
];

export function productFromRow(row: ProductRow): Product {
  return {
    id: row.id,
    name: row.name,
    seatMode: row.seat_mode as SeatMode,
    leaseSeconds: Number(row.lease_seconds),
    heartbeatIntervalSeconds: Number(row.heartbeat_interval_seconds),
    matchStrategy: row.match_strategy as MatchStrategy,
    reclaim: (row.reclaim ?? 'eager') as ReclaimMode,
    churnLimit: numberOrNull(row.churn_limit),
    churnPeriodSeconds: Number(row.churn_period_seconds ?? 86_400),
    fingerprintChangeWindowSeconds: Number(row.fingerprint_change_window_seconds),
    containers: (row.containers ?? 'refuse') as ContainerPolicy,
    latestVersion: row.latest_version ?? null,
    minimumVersion: row.minimum_version ?? null,
    createdAt: Number(row.created_at),
  };
}

/** The policy settings as columns: written at creation and by every policy change. */
function policyColumns(p: Pick<Product, PolicySetting>) {
  return {
    seat_mode: p.seatMode,
    lease_seconds: p.leaseSeconds,
    heartbeat_interval_seconds: p.heartbeatIntervalSeconds,
    match_strategy: p.matchStrategy,
    reclaim: p.reclaim,
    churn_limit: p.churnLimit,
    churn_period_seconds: p.churnPeriodSeconds,
    fingerprint_change_window_seconds: p.fingerprintChangeWindowSeconds,
    containers: p.containers,
  };
}

export class KnexProductStore implements ProductStore {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    /** Products by id in memory, kept fresh by the change feed (change-fed-cache.ts). */
    private readonly cached: FedBy<Product> | null = null,
  ) {}

  async insert(p: Product): Promise<void> {
    this.cached?.wrote?.();
    await this.db('products').insert({
      id: p.id,
      name: p.name,
      ...policyColumns(p),
      latest_version: p.latestVersion,
      minimum_version: p.minimumVersion,
      created_at: p.createdAt,
    });
  }

  async setVersions(id: string, latestVersion: string | null, minimumVersion: string | null): Promise<void> {
    this.cached?.wrote?.();
    await this.db('products').where({ id }).update({ latest_version: latestVersion, minimum_version: minimumVersion });
  }

  async updatePolicy(id: string, p: Pick<Product, PolicySetting>): Promise<void> {
    this.cached?.wrote?.();
    await this.db('products').where({ id }).update(policyColumns(p));
  }

  async lockByName(name: string): Promise<Product | undefined> {
    // A write first, as codes are locked (code-store.ts): the row lock on PostgreSQL, the write
    // lock on SQLite, before the read, so concurrent changes apply one after the other.
    const locked = await this.db('products').where({ name }).update({ name });
    return locked ? this.findByName(name) : undefined;
  }

  /**
   * From memory when the change feed vouches for it, in or out of a transaction: as fresh as
   * every change committed before this one began, as a read before the transaction would be; a
   * transaction that wrote a product reads from the database (forOneTransaction). What must not
   * change under the caller is read with lockByName.
   */
  async findById(id: string): Promise<Product | undefined> {
    return readThrough(this.cached, id, async () => {
      const row = (await this.db('products').select(PRODUCT_COLUMNS).where({ id }).first()) as ProductRow | undefined;
      return row && productFromRow(row);
    });
  }

  async findByName(name: string): Promise<Product | undefined> {
    const row = (await this.db('products').select(PRODUCT_COLUMNS).where({ name }).first()) as ProductRow | undefined;
    return row && productFromRow(row);
  }

  async list(): Promise<Product[]> {
    return ((await this.db('products').select(PRODUCT_COLUMNS).orderBy('name')) as ProductRow[]).map(productFromRow);
  }
}
