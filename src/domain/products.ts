import { auditEvent } from './audit';
import type { DomainContext } from './context';
import { Conflict, InvalidInput, NotFound } from './errors';
import type { Actor, MatchStrategy, Product, SeatMode } from './types';

export interface NewProduct {
  name: string;
  seatMode?: SeatMode;
  leaseSeconds?: number;
  heartbeatIntervalSeconds?: number;
  matchStrategy?: MatchStrategy;
}

/** Defaults: a node-locked machine may stay offline a week; a floating seat lapses after 15 minutes. */
export const DEFAULT_LEASE_SECONDS: Record<SeatMode, number> = { node_locked: 7 * 86_400, floating: 900 };

export async function createProduct(ctx: DomainContext, input: NewProduct, actor: Actor): Promise<Product> {
  const seatMode = input.seatMode ?? 'node_locked';
  const leaseSeconds = input.leaseSeconds ?? DEFAULT_LEASE_SECONDS[seatMode];
  const product: Product = {
    id: ctx.ids.id(),
    name: input.name,
    seatMode,
    leaseSeconds,
    // Three beats per lease, so one lost beat never costs a seat.
    heartbeatIntervalSeconds: input.heartbeatIntervalSeconds ?? Math.max(1, Math.floor(leaseSeconds / 3)),
    matchStrategy: input.matchStrategy ?? 'fuzzy',
    createdAt: ctx.clock.now(),
  };
  if (product.heartbeatIntervalSeconds >= product.leaseSeconds) {
    throw new InvalidInput('heartbeat_exceeds_lease', 'the heartbeat interval must be shorter than the lease');
  }
  return ctx.repo.transaction(async (tx) => {
    if (await tx.products.findByName(product.name)) {
      throw new Conflict('product_exists', `a product named "${product.name}" already exists`);
    }
    await tx.products.insert(product);
    await tx.audit.insert([
      auditEvent(ctx, product.createdAt, actor, 'product.created', { type: 'product', id: product.id }, null, null, { ...product }),
    ]);
    return product;
  });
}

export async function getProduct(ctx: DomainContext, name: string): Promise<Product> {
  const product = await ctx.repo.products.findByName(name);
  if (!product) throw new NotFound('product_not_found', `no product named "${name}"`);
  return product;
}

export function listProducts(ctx: DomainContext): Promise<Product[]> {
  return ctx.repo.products.list();
}
