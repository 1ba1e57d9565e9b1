import { createHash } from 'node:crypto';
import type { DomainContext } from '../context';
import { owedCall } from '../outbox';
import { utcDay } from './dates';
import { ON_DEMAND_MODES, type MarketplaceApi } from './marketplace-api';
import { usagePush, type UsagePushPayload } from './owed-calls';
import { callsMarketplace, type MarketplaceSettings } from './settings';
import { DAY_MS } from '../clock';

/** The marketplace refuses a record that began more than 21 days ago (MKT.9004): a day older than this is not pushed. */
const USAGE_PUSH_WINDOW_DAYS = 20;

/**
 * On-demand instances report their usage to the marketplace (docs/marketplace.md "Usage of
 * on-demand products"): an instance whose order/query says ON_DEMAND or ON_DEMAND_PKG gets one
 * record per closed UTC day with usage — the distinct client identities reported that day through
 * the open API, or the reported number of active clients when that is larger. Each day is owed
 * once (its outbox key), with a record id of its own that a retry repeats. Returns how many were
 * newly owed.
 */
export async function oweUsagePushes(ctx: DomainContext, settings: MarketplaceSettings): Promise<number> {
  if (!callsMarketplace(settings)) return 0;
  const now = ctx.clock.now();
  const today = utcDay(now);
  const from = utcDay(now - USAGE_PUSH_WINDOW_DAYS * DAY_MS);
  let owed = 0;
  for (const instance of await ctx.repo.marketplaceInstances.listByChargingMode(ON_DEMAND_MODES)) {
    const reports = await ctx.repo.usage.list({ codeId: instance.codeId, from, includeTest: true }, USAGE_PUSH_WINDOW_DAYS + 2);
    for (const report of reports) {
      const usageValue = Math.max(report.ids.length, report.activeNum ?? 0);
      // Today is still open; the marketplace takes only values above 0.
      if (report.day >= today || usageValue <= 0) continue;
      const payload: UsagePushPayload = {
        instanceId: instance.instanceId,
        day: report.day,
        usageValue,
        meteringSn: meteringSn(instance.instanceId, report.day),
        recordTime: now,
        test: instance.test,
      };
      if (await ctx.repo.outbox.enqueue(owedCall(ctx, now, usagePush(payload)))) owed++;
    }
  }
  return owed;
}

/** The record's id for the marketplace's duplicate check: the same for an instance and day, whoever computes it. */
export function meteringSn(instanceId: string, day: string): string {
  return `licensor-${createHash('sha256').update(`${instanceId} ${day}`).digest('hex').slice(0, 40)}`;
}

export function pushOwedUsage(api: MarketplaceApi, payload: UsagePushPayload): Promise<void> {
  const beginTime = Date.parse(`${payload.day}T00:00:00Z`);
  return api.pushUsage([
    {
      instanceId: payload.instanceId,
      recordTime: payload.recordTime,
      beginTime,
      endTime: beginTime + DAY_MS,
      usageValue: payload.usageValue,
      meteringSn: payload.meteringSn,
    },
  ]);
}
