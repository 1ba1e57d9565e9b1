import { auditEvent, codeSnapshot } from '../audit';
import { findCodeByCode, getCode, requireCode, type CodeView } from '../codes';
import type { DomainContext } from '../context';
import { InvalidInput } from '../errors';
import { effectiveStatus, marketplaceStatus } from '../lifecycle';
import type { LicenseCode } from '../types';
import { getMarketplaceCode } from './instances';
import { recordUsage } from './usage';
import type { MarketplaceInstance } from './types';

const ACTOR = 'marketplace-api';

/** What the marketplace-compatible open API tells software about a code (§2.1, §2.2). */
export interface LicenseFacts {
  code: CodeView;
  status: 'ALIVE' | 'EXPIRED' | 'RELEASED';
  instance: MarketplaceInstance | undefined;
}

async function facts(ctx: DomainContext, codeId: string): Promise<LicenseFacts> {
  const code = await getCode(ctx, codeId);
  return { code, status: marketplaceStatus(code.effectiveStatus), instance: await ctx.repo.marketplaceInstances.findByCode(codeId) };
}

/**
 * activate (docs/marketplace.md §2.1): the software starts the code's lifecycle,
 * `issued` → `alive`, with no machine bound (this API knows none). Activating an activated,
 * expired or released code changes nothing and answers its status. `license` is the
 * authorization code, as §2.1 says: not an instance id, nor licensor's code id.
 * `realEffectTime` (UTC) is recorded as the activation time; it may not precede the code's issue.
 */
export async function activateLicense(ctx: DomainContext, license: string, realEffectTime?: number): Promise<LicenseFacts> {
  const found = await requireCode(findCodeByCode(ctx.repo, license));
  if (realEffectTime !== undefined && realEffectTime < found.createdAt) {
    throw new InvalidInput('real_effect_time_too_early', 'real_effect_time is earlier than the order of this code');
  }
  await ctx.repo.transaction(async (tx) => {
    const code = await tx.codes.lockForUpdate(found.id);
    const now = ctx.clock.now();
    if (!code || code.status !== 'issued' || effectiveStatus(code, now) !== 'issued') return;
    const firstActivatedAt = Math.min(realEffectTime ?? now, now);
    const after: LicenseCode = { ...code, status: 'alive', firstActivatedAt, updatedAt: now };
    await tx.codes.update(code.id, { status: 'alive', firstActivatedAt }, now);
    await tx.audit.insert([auditEvent(ctx, now, ACTOR, 'code.activated', { type: 'code', id: code.id }, code.id, codeSnapshot(code), codeSnapshot(after))]);
  });
  return facts(ctx, found.id);
}

/**
 * query / "heartbeat" (§2.2): the code's status and expiry, read-only. `license` is the
 * authorization code or, for legacy online-License products (§2.2), an instance id. The sunset
 * `heartbeatInfo.thirdPartyAccount` still counts as that day's usage, as the marketplace did.
 */
export async function queryLicense(ctx: DomainContext, reference: string, thirdPartyAccount?: string): Promise<LicenseFacts> {
  const code = await getMarketplaceCode(ctx, reference);
  // A marketplace-style heartbeat is a beat on the operator's chart too (no write per beat).
  ctx.heartbeats.countBeat(code.productId, ctx.clock.now());
  if (thirdPartyAccount) await recordUsage(ctx, code.id, { ids: [thirdPartyAccount] });
  return facts(ctx, code.id);
}
