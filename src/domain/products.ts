import { compareVersions } from '@licensor/client/contract';
import { auditEvent } from './audit';
import type { DomainContext } from './context';
import { Conflict, InvalidInput, NotFound } from './errors';
import type { Actor, ContainerPolicy, MatchStrategy, Product, ReclaimMode, SeatMode } from './types';

export interface NewProduct {
  name: string;
  seatMode?: SeatMode;
  leaseSeconds?: number;
  heartbeatIntervalSeconds?: number;
  matchStrategy?: MatchStrategy;
  /** docs/policies.md; defaults keep the behaviour of a product without them. */
  reclaim?: ReclaimMode;
  churnLimit?: number | null;
  churnPeriodSeconds?: number;
  fingerprintChangeWindowSeconds?: number;
  containers?: ContainerPolicy;
}

/** The churn period when a product sets a limit without one: a day. */
const DEFAULT_CHURN_PERIOD_SECONDS = 86_400;

/** One non-anchor component of a machine's enrolment may change per 30 days (docs/fingerprint.md). */
const DEFAULT_FINGERPRINT_CHANGE_WINDOW_SECONDS = 30 * 86_400;

/** Defaults: a node-locked machine may stay offline a week; a floating seat lapses after 15 minutes. */
const DEFAULT_LEASE_SECONDS: Record<SeatMode, number> = { node_locked: 7 * 86_400, floating: 900 };

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
    reclaim: input.reclaim ?? 'eager',
    churnLimit: input.churnLimit ?? null,
    churnPeriodSeconds: input.churnPeriodSeconds ?? DEFAULT_CHURN_PERIOD_SECONDS,
    fingerprintChangeWindowSeconds: input.fingerprintChangeWindowSeconds ?? DEFAULT_FINGERPRINT_CHANGE_WINDOW_SECONDS,
    containers: input.containers ?? 'refuse',
    latestVersion: null,
    minimumVersion: null,
    createdAt: ctx.clock.now(),
  };
  checkPolicy(product);
  return ctx.repo.transaction(async (tx) => {
    if (await tx.products.findByName(product.name)) {
      throw new Conflict('product_exists', `a product named "${product.name}" already exists`);
    }
    await tx.products.insert(product);
    await tx.audit.insert([auditEvent(ctx, product.createdAt, actor, 'product.created', { type: 'product', id: product.id }, null, null, { ...product })]);
    return product;
  });
}

/** The rules a product's policy obeys, at creation and after every change (src/domain/product-policy-change.ts). */
export function checkPolicy(product: Product): void {
  if (product.heartbeatIntervalSeconds >= product.leaseSeconds) {
    throw new InvalidInput('heartbeat_exceeds_lease', 'the heartbeat interval must be shorter than the lease');
  }
  if (product.containers === 'instance' && product.seatMode !== 'floating') {
    // A container instance lives on heartbeats: its seat must lapse when the container dies.
    throw new InvalidInput(
      'containers_need_floating',
      'containers: "instance" needs seatMode "floating": a container\'s seat is freed when its heartbeats stop',
    );
  }
}

export async function getProduct(ctx: DomainContext, name: string): Promise<Product> {
  const product = await ctx.repo.products.findByName(name);
  if (!product) throw new NotFound('product_not_found', `no product named "${name}"`);
  return product;
}

export function listProducts(ctx: DomainContext): Promise<Product[]> {
  return ctx.repo.products.list();
}

interface VersionRelease {
  version: string;
  /** Every running version older than this one must update (the marketplace SDK's forced upgrade). */
  required?: boolean;
}

/**
 * Publishes the latest version of a product; heartbeat answers carry it and clients raise an
 * update notice (docs/policies.md). `required` also raises the minimum version to it, so a later
 * optional release does not make an earlier required one optional again.
 */
export async function publishVersion(ctx: DomainContext, name: string, release: VersionRelease, actor: Actor): Promise<Product> {
  return ctx.repo.transaction(async (tx) => {
    const product = await tx.products.findByName(name);
    if (!product) throw new NotFound('product_not_found', `no product named "${name}"`);
    if (product.minimumVersion !== null && compareVersions(release.version, product.minimumVersion) < 0) {
      throw new Conflict('version_below_minimum', `${release.version} is older than the required minimum ${product.minimumVersion}`, {
        minimumVersion: product.minimumVersion,
      });
    }
    const minimumVersion = release.required ? release.version : product.minimumVersion;
    await tx.products.setVersions(product.id, release.version, minimumVersion);
    const after = { ...product, latestVersion: release.version, minimumVersion };
    await tx.audit.insert([
      auditEvent(
        ctx,
        ctx.clock.now(),
        actor,
        'product.version_published',
        { type: 'product', id: product.id },
        null,
        { latestVersion: product.latestVersion, minimumVersion: product.minimumVersion },
        { latestVersion: release.version, minimumVersion },
      ),
    ]);
    return after;
  });
}
