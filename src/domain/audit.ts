import type { DomainContext } from './context';
import type { Actor, AuditEvent, LicenseCode } from './types';

export function auditEvent(
  ctx: Pick<DomainContext, 'ids'>,
  at: number,
  actor: Actor,
  action: string,
  entity: { type: AuditEvent['entityType']; id: string },
  codeId: string | null,
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): AuditEvent {
  return { id: ctx.ids.id(), at, actor, action, entityType: entity.type, entityId: entity.id, codeId, before, after };
}

/** The part of a code that an audit trail needs to show a change. */
export function codeSnapshot(code: Pick<LicenseCode, 'status' | 'expiresAt' | 'seats'>): Record<string, unknown> {
  return { status: code.status, expiresAt: new Date(code.expiresAt).toISOString(), seats: code.seats };
}
