import type { Knex } from 'knex';
import type { AuditFilter, AuditStore } from '../domain/ports';
import type { AuditEvent, Page } from '../domain/types';
import { eventFromRow, type AuditRow } from './audit-rows';
import { keysetPage, toJson } from './rows';
import type { FedBy } from './change-fed-cache';
import { sqlWrite } from './direct-sql';
import { enqueueWebhookDeliveries, type EnabledEndpoint } from './webhook-store';

/**
 * Rows per INSERT. A plain multi-row VALUES list: knex would write SQLite multi-row inserts as a
 * compound SELECT (limited to 500 terms, and measurably slower for the sweeper's bulk events:
 * docs/performance.md#bulk-changes-are-one-statement-a-batch).
 * 9 values a row keeps 1,000 rows under both engines' bound-parameter limits.
 */
const CHUNK = 1000;
const COLUMNS = ['id', 'at', 'actor', 'action', 'entity_type', 'entity_id', 'code_id', 'before', 'after'];
const ROW = `(${COLUMNS.map(() => '?').join(', ')})`;

export class KnexAuditStore implements AuditStore {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    /** The enabled webhook endpoints in memory (change-fed-cache.ts). */
    private readonly endpoints: FedBy<EnabledEndpoint[]> | null = null,
  ) {}

  async insert(events: AuditEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += CHUNK) {
      const chunk = events.slice(i, i + CHUNK);
      const values: Array<string | number | null> = [];
      for (const e of chunk) {
        values.push(
          e.id,
          e.at,
          e.actor,
          e.action,
          e.entityType,
          e.entityId,
          e.codeId,
          e.before === null ? null : toJson(e.before),
          e.after === null ? null : toJson(e.after),
        );
      }
      await sqlWrite(this.db, `INSERT INTO audit_events (${COLUMNS.join(', ')}) VALUES ${chunk.map(() => ROW).join(', ')}`, values);
    }
    // Announced in the same transaction (docs/webhooks.md): what happened is owed, nothing else.
    await enqueueWebhookDeliveries(this.db, events, this.endpoints);
  }

  async list(filter: AuditFilter, limit: number, cursor: string | null): Promise<Page<AuditEvent>> {
    const q = this.db<AuditRow>('audit_events').select('*');
    if (filter.codeId) q.where('code_id', filter.codeId);
    if (filter.entityId) q.where('entity_id', filter.entityId);
    if (filter.action) q.where('action', filter.action);
    return keysetPage(q, { at: 'at', id: 'id' }, cursor, limit, eventFromRow, (e) => ({ at: e.at, id: e.id }));
  }
}
