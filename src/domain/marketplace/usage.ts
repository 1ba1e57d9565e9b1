import type { DomainContext } from '../context';
import { displayCode } from '../authorization-code';
import { findCode, findCodeByCode, requireCode } from '../codes';
import { utcDay } from './dates';
import type { UsageReport } from './types';

/** Distinct identities kept per code and day; beyond this the count stops growing (it is a usage figure, not a log). */
const MAX_USAGE_IDS_PER_DAY = 10_000;

/**
 * Adds a report to the code's usage for today (UTC): identities are merged as a set, a reported
 * total replaces the previous one. The code row is locked, so concurrent reports merge, never overwrite.
 */
export async function recordUsage(ctx: DomainContext, codeId: string, usage: { ids?: string[]; activeNum?: number }): Promise<void> {
  await ctx.repo.transaction(async (tx) => {
    await tx.codes.lock(codeId);
    const now = ctx.clock.now();
    const day = utcDay(now);
    const previous = await tx.usage.find(codeId, day);
    const ids = new Set(previous?.ids ?? []);
    for (const id of usage.ids ?? []) if (ids.size < MAX_USAGE_IDS_PER_DAY) ids.add(id);
    await tx.usage.save({ codeId, day, ids: [...ids], activeNum: usage.activeNum ?? previous?.activeNum ?? null, reportedAt: now });
  });
}

interface SoftwareUsage {
  /** The authorization code (§2.3), in any spelling. */
  license: string;
  /** Each entry names one client identity, or the day's total of active clients (§2.3). */
  infos: Array<{ id: string } | { activeNum: number }>;
}

/** software-usage-info (§2.3), one entry: stores the code's report; `code_not_found` for a code it does not know. */
export async function reportSoftwareUsage(ctx: DomainContext, report: SoftwareUsage): Promise<void> {
  const code = await requireCode(findCodeByCode(ctx.repo, report.license));
  const ids = report.infos.flatMap((i) => ('id' in i ? [i.id] : []));
  const totals = report.infos.flatMap((i) => ('activeNum' in i ? [i.activeNum] : []));
  await recordUsage(ctx, code.id, { ids, activeNum: totals.length > 0 ? Math.max(...totals) : undefined });
}

export interface UsageView extends UsageReport {
  displayCode: string;
}

/** Usage figures, newest day first; test codes (testFlag=1 orders, `--test` codes) only when asked for. */
export async function listUsage(
  ctx: DomainContext,
  filter: { code?: string; from?: string; to?: string; includeTest?: boolean },
  limit: number,
): Promise<UsageView[]> {
  const codeId = filter.code === undefined ? undefined : (await requireCode(findCode(ctx.repo, filter.code))).id;
  // A code asked for by name is shown whatever its test flag.
  const includeTest = filter.includeTest ?? codeId !== undefined;
  const reports = await ctx.repo.usage.list({ codeId, from: filter.from, to: filter.to, includeTest }, limit);
  const codes = new Map<string, string>();
  for (const r of reports) {
    if (!codes.has(r.codeId)) codes.set(r.codeId, (await ctx.repo.codes.findById(r.codeId))?.code ?? '');
  }
  return reports.map((r) => ({ ...r, displayCode: displayCode(codes.get(r.codeId) ?? '') }));
}
