import { auditEvent, codeSnapshot } from '../audit';
import type { DomainContext } from '../context';
import { LicensorError } from '../errors';
import { statusAfterExpiryChange } from '../lifecycle';
import { owedCall } from '../outbox';
import type { LicenseCode } from '../types';
import { findInstance } from './instances';
import type { OrderLine } from './marketplace-api';
import { orderQuery, type OrderQueryPayload } from './owed-calls';
import { callsMarketplace, marketplaceActor, type MarketplaceSettings } from './settings';
import { DAY_MS } from '../clock';

/**
 * What order/query said of an instance's order line, applied to its code (docs/marketplace.md
 * "Seats and period from the order"): the quantity bought (`linearValue`) becomes the code's seats;
 * a new order's expiry becomes the code's, unless a renewal has set one since. Fewer seats than
 * machines in use keeps every machine bound and refuses new ones until enough leave. One
 * transaction, under the code's lock, with an audit event when the code changed; applying the same
 * answer twice changes nothing the second time.
 */
export async function applyOrder(ctx: DomainContext, call: OrderQueryPayload, line: OrderLine, settings: MarketplaceSettings): Promise<void> {
  const instance = await findInstance(ctx, call.instanceId);
  await ctx.repo.transaction(async (tx) => {
    const code = await tx.codes.lockForUpdate(instance.codeId);
    if (!code) throw new LicensorError('unavailable', 'code_missing', 'the instance has no code');
    const now = ctx.clock.now();
    await tx.marketplaceInstances.recordOrder(instance.instanceId, {
      chargingMode: line.chargingMode,
      periodType: line.periodType,
      periodNumber: line.periodNumber,
      quantity: line.quantity,
      checkedAt: now,
    });
    if (code.status === 'released') return;
    const patch: Partial<Pick<LicenseCode, 'seats' | 'expiresAt' | 'status'>> = {};
    if (line.quantity !== null && line.quantity !== code.seats) patch.seats = line.quantity;
    // The validity set at creation, until the marketplace says otherwise: a renewal that came
    // before this answer wins over the first order's date.
    const untouched = code.expiresAt === instance.createdAt + settings.instanceDays * DAY_MS;
    if (call.purpose === 'new' && line.expireTime !== null && untouched && line.expireTime !== code.expiresAt) {
      patch.expiresAt = line.expireTime;
      patch.status = statusAfterExpiryChange(code, line.expireTime, now);
    }
    if (Object.keys(patch).length === 0) return;
    const after: LicenseCode = { ...code, ...patch, updatedAt: now };
    await tx.codes.update(code.id, patch, now);
    const inUse = await tx.activations.countActive(code.id);
    await tx.audit.insert([
      auditEvent(ctx, now, marketplaceActor(call.test), 'code.order_applied', { type: 'code', id: code.id }, code.id, codeSnapshot(code), {
        ...codeSnapshot(after),
        orderId: call.orderId,
        orderLineId: call.orderLineId,
        purpose: call.purpose,
        machinesInUse: inUse,
      }),
    ]);
  });
}

export interface UpgradeRequest {
  instanceId: string;
  orderId: string;
  orderLineId: string;
  /** SaaS V1's `amount` (the quantity after the upgrade), read when sent; SaaS 2.0 sends none. */
  amount?: number;
  testFlag: boolean;
}

/**
 * upgradeInstance (docs/marketplace.md "Upgrades"): applied once per `orderId` — a retry, even with
 * other fields, succeeds and changes nothing. The new quantity is `amount` when the request carries
 * one, applied at once; otherwise order/query of the upgrade order tells it, through the outbox
 * (enqueued in the same transaction as the upgrade's audit event). Without either, licensor cannot
 * learn the quantity and refuses (000005), so the marketplace shows the failure.
 */
export async function upgradeInstance(ctx: DomainContext, request: UpgradeRequest, settings: MarketplaceSettings): Promise<void> {
  const instance = await findInstance(ctx, request.instanceId);
  if (request.amount === undefined && !callsMarketplace(settings)) {
    throw new LicensorError(
      'unavailable',
      'upgrade_needs_order_query',
      'the upgrade carries no quantity and licensor does not call the marketplace to read it: set LICENSOR_MARKETPLACE_AKSK (docs/marketplace.md "Upgrades")',
    );
  }
  const actor = marketplaceActor(request.testFlag);
  await ctx.repo.transaction(async (tx) => {
    const code = await tx.codes.lockForUpdate(instance.codeId);
    if (!code) throw new LicensorError('unavailable', 'code_missing', 'the instance has no code');
    const now = ctx.clock.now();
    // The seed text: for the same orderId, do not upgrade again; answer success.
    if (!(await tx.idempotency.claim('upgradeInstance', request.orderId, '', now))) return;
    const seats = request.amount !== undefined && code.status !== 'released' ? request.amount : code.seats;
    const after: LicenseCode = { ...code, seats, updatedAt: now };
    if (seats !== code.seats) await tx.codes.update(code.id, { seats }, now);
    const inUse = await tx.activations.countActive(code.id);
    await tx.audit.insert([
      auditEvent(ctx, now, actor, 'code.upgraded', { type: 'code', id: code.id }, code.id, codeSnapshot(code), {
        ...codeSnapshot(after),
        orderId: request.orderId,
        orderLineId: request.orderLineId,
        quantityFrom: request.amount !== undefined ? 'amount' : 'order/query',
        machinesInUse: inUse,
      }),
    ]);
    if (request.amount === undefined) await tx.outbox.enqueue(owedCall(ctx, now, orderQuery(instance, request, 'upgrade')));
  });
}
