import type { Knex } from 'knex';
import type { MarketplaceInstance, OrderTerms } from '../../domain/marketplace/types';
import type { MarketplaceInstanceStore } from '../../domain/ports';
import type { Page } from '../../domain/types';
import { keysetPage, numberOrNull, toBool } from '../rows';

interface InstanceRow {
  instance_id: string;
  order_id: string;
  order_line_id: string;
  code_id: string;
  test: boolean | number;
  created_at: number;
  charging_mode: string | null;
  period_type: string | null;
  period_number: number | null;
  quantity: number | null;
  order_checked_at: number | null;
}

function instanceFromRow(row: InstanceRow): MarketplaceInstance {
  return {
    instanceId: row.instance_id,
    orderId: row.order_id,
    orderLineId: row.order_line_id,
    codeId: row.code_id,
    test: toBool(row.test),
    createdAt: Number(row.created_at),
    order:
      row.order_checked_at === null || row.order_checked_at === undefined
        ? null
        : {
            chargingMode: row.charging_mode,
            periodType: row.period_type,
            periodNumber: numberOrNull(row.period_number),
            quantity: numberOrNull(row.quantity),
            checkedAt: Number(row.order_checked_at),
          },
  };
}

export class KnexMarketplaceInstanceStore implements MarketplaceInstanceStore {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async insert(i: MarketplaceInstance): Promise<boolean> {
    // The unique (order_id, order_line_id) settles racing retries of one order: the loser inserts nothing.
    const inserted = await this.db('marketplace_instances')
      .insert({
        instance_id: i.instanceId,
        order_id: i.orderId,
        order_line_id: i.orderLineId,
        code_id: i.codeId,
        test: i.test,
        created_at: i.createdAt,
      })
      .onConflict()
      .ignore()
      .returning('instance_id');
    return (inserted as unknown[]).length > 0;
  }

  async findById(instanceId: string): Promise<MarketplaceInstance | undefined> {
    const row = await this.db<InstanceRow>('marketplace_instances').where({ instance_id: instanceId }).first();
    return row && instanceFromRow(row);
  }

  async findByOrder(orderId: string, orderLineId: string): Promise<MarketplaceInstance | undefined> {
    const row = await this.db<InstanceRow>('marketplace_instances').where({ order_id: orderId, order_line_id: orderLineId }).first();
    return row && instanceFromRow(row);
  }

  async findByCode(codeId: string): Promise<MarketplaceInstance | undefined> {
    const row = await this.db<InstanceRow>('marketplace_instances').where({ code_id: codeId }).orderBy('created_at').first();
    return row && instanceFromRow(row);
  }

  async recordOrder(instanceId: string, terms: OrderTerms): Promise<void> {
    await this.db('marketplace_instances').where({ instance_id: instanceId }).update({
      charging_mode: terms.chargingMode,
      period_type: terms.periodType,
      period_number: terms.periodNumber,
      quantity: terms.quantity,
      order_checked_at: terms.checkedAt,
    });
  }

  async listByChargingMode(modes: readonly string[]): Promise<MarketplaceInstance[]> {
    return (await this.db<InstanceRow>('marketplace_instances').whereIn('charging_mode', modes).orderBy('instance_id')).map(instanceFromRow);
  }

  async list(filter: { test?: boolean }, limit: number, cursor: string | null): Promise<Page<MarketplaceInstance>> {
    const q = this.db<InstanceRow>('marketplace_instances').select('*');
    if (filter.test !== undefined) q.where('test', filter.test);
    return keysetPage(q, { at: 'created_at', id: 'instance_id' }, cursor, limit, instanceFromRow, (i) => ({ at: i.createdAt, id: i.instanceId }));
  }
}
