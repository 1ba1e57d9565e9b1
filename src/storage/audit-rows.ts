import type { AuditEvent } from '../domain/types';
import { fromJson } from './rows';

/** An audit event as its row holds it (audit_events), read by the audit trail and by webhook deliveries. */
export interface AuditRow {
  id: string;
  at: number;
  actor: string;
  action: string;
  entity_type: string;
  entity_id: string;
  code_id: string | null;
  before: string | null;
  after: string | null;
}

export function eventFromRow(row: AuditRow): AuditEvent {
  return {
    id: row.id,
    at: Number(row.at),
    actor: row.actor,
    action: row.action,
    entityType: row.entity_type as AuditEvent['entityType'],
    entityId: row.entity_id,
    codeId: row.code_id,
    before: fromJson(row.before, null),
    after: fromJson(row.after, null),
  };
}
