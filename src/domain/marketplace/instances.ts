import { findCodeByCode, getCode, issueCode, requireCode, type CodeView } from '../codes';
import type { DomainContext } from '../context';
import { Conflict, LicensorError, NotFound } from '../errors';
import type { LicenseCode } from '../types';
import { marketplaceActor, type MarketplaceSettings } from './settings';
import type { MarketplaceInstance } from './types';

const DAY_MS = 86_400_000;

/** The losing retry of a racing newInstance: its transaction is rolled back, the winner's instance answers. */
class OrderLineTaken extends Error {}

/**
 * newInstance (koogallery-license-protocol.md §3.6a, §6): one instance per order line, whose id is
 * the businessId of the first request. The code and the instance row commit in one transaction, and
 * the unique (orderId, orderLineId) settles racing retries on either engine: every one of them
 * answers the same instanceId and exactly one code is issued.
 */
export async function provisionInstance(
  ctx: DomainContext,
  request: { orderId: string; orderLineId: string; businessId: string; testFlag: boolean },
  settings: MarketplaceSettings,
): Promise<MarketplaceInstance> {
  const existing = await ctx.repo.marketplaceInstances.findByOrder(request.orderId, request.orderLineId);
  if (existing) return existing;
  const now = ctx.clock.now();
  let created: MarketplaceInstance | undefined;
  try {
    await issueCode(
      ctx,
      {
        product: settings.product,
        seats: settings.seats,
        expiresAt: now + settings.instanceDays * DAY_MS,
        test: request.testFlag,
        metadata: { marketplace: { instanceId: request.businessId, orderId: request.orderId, orderLineId: request.orderLineId } },
      },
      marketplaceActor(request.testFlag),
      async (tx, code) => {
        const instance: MarketplaceInstance = {
          instanceId: request.businessId,
          orderId: request.orderId,
          orderLineId: request.orderLineId,
          codeId: code.id,
          test: request.testFlag,
          createdAt: now,
        };
        if (!(await tx.marketplaceInstances.insert(instance))) throw new OrderLineTaken();
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
  // The businessId was used for another order line: the marketplace says it is unique per request.
  throw new Conflict('business_id_reused', 'this businessId already names an instance of another order line');
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
