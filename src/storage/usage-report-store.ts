import type { Knex } from 'knex';
import type { UsageFilter, UsageReport } from '../domain/marketplace/types';
import type { UsageReportStore } from '../domain/ports';
import { fromJson, toJson } from './rows';

interface UsageRow {
  code_id: string;
  day: string;
  payload: string;
  reported_at: number;
}

interface UsagePayload {
  ids?: string[];
  activeNum?: number | null;
}

function reportFromRow(row: UsageRow): UsageReport {
  const payload = fromJson<UsagePayload>(row.payload, {});
  return { codeId: row.code_id, day: row.day, ids: payload.ids ?? [], activeNum: payload.activeNum ?? null, reportedAt: Number(row.reported_at) };
}

export class KnexUsageReportStore implements UsageReportStore {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async find(codeId: string, day: string): Promise<UsageReport | undefined> {
    const row = await this.db<UsageRow>('usage_reports').where({ code_id: codeId, day }).first();
    return row && reportFromRow(row);
  }

  async save(r: UsageReport): Promise<void> {
    await this.db('usage_reports')
      .insert({ code_id: r.codeId, day: r.day, payload: toJson({ ids: r.ids, activeNum: r.activeNum }), reported_at: r.reportedAt })
      .onConflict(['code_id', 'day'])
      .merge(['payload', 'reported_at']);
  }

  async list(filter: UsageFilter, limit: number): Promise<UsageReport[]> {
    const q = this.db('usage_reports as u').join('codes as c', 'c.id', 'u.code_id').select('u.code_id', 'u.day', 'u.payload', 'u.reported_at');
    if (filter.codeId) q.where('u.code_id', filter.codeId);
    if (filter.from) q.where('u.day', '>=', filter.from);
    if (filter.to) q.where('u.day', '<=', filter.to);
    if (!filter.includeTest) q.where('c.test', false);
    const rows = await q.orderBy([{ column: 'u.day', order: 'desc' }, { column: 'u.code_id' }]).limit(limit);
    return (rows as UsageRow[]).map(reportFromRow);
  }
}
