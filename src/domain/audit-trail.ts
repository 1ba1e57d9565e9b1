import { findCode, requireCode } from './codes';
import type { DomainContext } from './context';
import type { AuditFilter } from './ports';
import type { AuditEvent, Page } from './types';

/** The audit trail, newest first; `code` is any reference to a code (as typed, or its id). */
export async function listAudit(
  ctx: DomainContext,
  filter: Omit<AuditFilter, 'codeId'> & { code?: string | undefined },
  limit: number,
  cursor: string | null,
): Promise<Page<AuditEvent>> {
  const { code, ...rest } = filter;
  const codeId = code === undefined ? undefined : (await requireCode(findCode(ctx.repo, code))).id;
  return ctx.repo.audit.list({ ...rest, codeId }, limit, cursor);
}
