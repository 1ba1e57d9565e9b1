import { createHash } from 'node:crypto';
import { DAY_MS } from '../clock';
import { findCodeByCode, getCode, issueCode, requireCode, type CodeView } from '../codes';
import type { DomainContext } from '../context';
import { LicensorError, NotFound } from '../errors';
import { owedCall } from '../outbox';
import type { LicenseCode, Page } from '../types';
import { orderQuery } from './owed-calls';
import { callsMarketplace, marketplaceActor, type MarketplaceSettings } from './settings';
import type { MarketplaceInstance } from './types';

/** The losing retry of a racing newInstance: its transaction is rolled back, the winner's instance answers. */
class OrderLineTaken extends Error {}

/** The UUID namespace of instance ids (RFC 9562 name-based, version 5). Never change it: ids already answered derive from it. */
const INSTANCE_NAMESPACE = Buffer.from('6f1c9a524b7e4d3a9c1f2e8d7b4a0c61', 'hex');

/**
 * The instance id of an order line: a UUIDv5 of `orderId` and `orderLineId`. Every request for the
 * line computes the same id without asking the database, so an answer given before the instance
 * was stored (000004 on a slow database) names the instance that comes to exist, whichever request
 * or process stores it (docs/marketplace.md "newInstance").
 */
export function instanceIdFor(orderId: string, orderLineId: string): string {
  const hash = createHash('sha1').update(INSTANCE_NAMESPACE).update(`${orderId}\n${orderLineId}`, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * newInstance (docs/marketplace.md "newInstance"): one instance per order line, named by
 * instanceIdFor. The code, the instance row and, when licensor calls the marketplace, the
 * order/query that learns the seats and period bought commit in one transaction; the unique
 * (orderId, orderLineId) settles racing retries on either engine: every one of them answers the
 * same instanceId and exactly one code is issued.
 */
export async function provisionInstance(
  ctx: DomainContext,
  request: { orderId: string; orderLineId: string; testFlag: boolean },
  settings: MarketplaceSettings,
): Promise<MarketplaceInstance> {
  const existing = await ctx.repo.marketplaceInstances.findByOrder(request.orderId, request.orderLineId);
  if (existing) return existing;
  const instanceId = instanceIdFor(request.orderId, request.orderLineId);
  const now = ctx.clock.now();
  let created: MarketplaceInstance | undefined;
  try {
    await issueCode(
      ctx,
      {
        product: settings.product,
        seats: settings.seats,
        // The instance's own creation time: order/query tells an untouched default expiry by it (orders.ts).
        validity: { expiresAt: now + settings.instanceDays * DAY_MS },
        test: request.testFlag,
        metadata: { marketplace: { instanceId, orderId: request.orderId, orderLineId: request.orderLineId } },
      },
      marketplaceActor(request.testFlag),
      async (tx, code) => {
        const instance: MarketplaceInstance = {
          instanceId,
          orderId: request.orderId,
          orderLineId: request.orderLineId,
          codeId: code.id,
          test: request.testFlag,
          createdAt: now,
          order: null,
        };
        if (!(await tx.marketplaceInstances.insert(instance))) throw new OrderLineTaken();
        if (callsMarketplace(settings)) await tx.outbox.enqueue(owedCall(ctx, now, orderQuery(instance, request, 'new')));
        created = instance;
      },
    );
  } catch (err) {
    if (err instanceof LicensorError && err.code === 'product_not_found') {
      throw new NotFound('no_instance_resource', `the product "${settings.product}" that marketplace instances are issued under does not exist`);
    }
    if (!(err instanceof OrderLineTaken)) throw err;
  }
  if (created) return created;
  const winner = await ctx.repo.marketplaceInstances.findByOrder(request.orderId, request.orderLineId);
  if (winner) return winner;
  throw new LicensorError('unavailable', 'instance_not_stored', "the instance of this order line could not be stored; the marketplace's retry tries again");
}

export async function findInstance(ctx: DomainContext, instanceId: string): Promise<MarketplaceInstance> {
  const instance = await ctx.repo.marketplaceInstances.findById(instanceId);
  if (!instance) throw new NotFound('instance_not_found', 'no such instance');
  return instance;
}

/**
 * The code a marketplace `license` field names: an authorization code in any form or (§2.2, legacy
 * online-License products) an instance id. Never licensor's own code id, which every lease token shows.
 */
export async function findMarketplaceCode(ctx: DomainContext, reference: string): Promise<LicenseCode | undefined> {
  const code = await findCodeByCode(ctx.repo, reference);
  if (code) return code;
  const instance = await ctx.repo.marketplaceInstances.findById(reference);
  return instance ? ctx.repo.codes.findById(instance.codeId) : undefined;
}

export function getMarketplaceCode(ctx: DomainContext, reference: string): Promise<LicenseCode> {
  return requireCode(findMarketplaceCode(ctx, reference));
}

/** A page of instances, each with its code as typed (null when the code is gone): one read of codes per page. */
export async function listInstances(
  ctx: DomainContext,
  filter: { test?: boolean | undefined },
  limit: number,
  cursor: string | null,
): Promise<Page<{ instance: MarketplaceInstance; code: string | null }>> {
  const page = await ctx.repo.marketplaceInstances.list(filter, limit, cursor);
  const codes = new Map((await ctx.repo.codes.findByIds(page.items.map((i) => i.codeId))).map((c) => [c.id, c.code]));
  return { items: page.items.map((instance) => ({ instance, code: codes.get(instance.codeId) ?? null })), nextCursor: page.nextCursor };
}

/** An instance with its code as of now (queryInstance). */
export async function describeInstances(ctx: DomainContext, instanceIds: string[]): Promise<Array<{ instance: MarketplaceInstance; code: CodeView }>> {
  const found: Array<{ instance: MarketplaceInstance; code: CodeView }> = [];
  for (const id of new Set(instanceIds)) {
    const instance = await ctx.repo.marketplaceInstances.findById(id);
    if (instance) found.push({ instance, code: await getCode(ctx, instance.codeId) });
  }
  if (found.length === 0) throw new NotFound('instance_not_found', 'no such instance');
  return found;
}
