import type { Knex } from 'knex';
import type { ProductStore } from '../domain/ports';
import type { MatchStrategy, Product, SeatMode } from '../domain/types';

interface ProductRow {
  id: string;
  name: string;
  seat_mode: string;
  lease_seconds: number;
  heartbeat_interval_seconds: number;
  match_strategy: string;
  created_at: number;
}

export function productFromRow(row: ProductRow): Product {
  return {
    id: row.id,
    name: row.name,
    seatMode: row.seat_mode as SeatMode,
    leaseSeconds: Number(row.lease_seconds),
    heartbeatIntervalSeconds: Number(row.heartbeat_interval_seconds),
    matchStrategy: row.match_strategy as MatchStrategy,
    createdAt: Number(row.created_at),
  };
}

export class KnexProductStore implements ProductStore {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async insert(p: Product): Promise<void> {
    await this.db('products').insert({
      id: p.id,
      name: p.name,
      seat_mode: p.seatMode,
      lease_seconds: p.leaseSeconds,
      heartbeat_interval_seconds: p.heartbeatIntervalSeconds,
      match_strategy: p.matchStrategy,
      created_at: p.createdAt,
    });
  }

  async findById(id: string): Promise<Product | undefined> {
    const row = await this.db<ProductRow>('products').where({ id }).first();
    return row && productFromRow(row);
  }

  async findByName(name: string): Promise<Product | undefined> {
    const row = await this.db<ProductRow>('products').where({ name }).first();
    return row && productFromRow(row);
  }

  async list(): Promise<Product[]> {
    return (await this.db<ProductRow>('products').orderBy('name')).map(productFromRow);
  }
}
