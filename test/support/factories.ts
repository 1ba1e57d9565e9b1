import { createHash } from 'node:crypto';
import type { FingerprintHashes } from '@licensor/client/contract';
import { issueCode, type CodeView } from '../../src/domain/codes';
import type { DomainContext } from '../../src/domain/context';
import { createProduct, type NewProduct } from '../../src/domain/products';
import type { LicenseCode, Product } from '../../src/domain/types';
import { DAY } from './clock';

const h = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);

/**
 * A machine's fingerprint hashes, derived from a name: two names give two different machines.
 * `change` swaps single components, to model hardware drift.
 */
export function machine(name: string, change: Partial<Record<string, string>> = {}): FingerprintHashes {
  const part = (id: string) => h(`${name}:${change[id] ?? id}`);
  return {
    'os.machineId': part('os.machineId'),
    'hw.systemUuid': part('hw.systemUuid'),
    'hw.boardSerial': part('hw.boardSerial'),
    'disk.bootSerial': part('disk.bootSerial'),
    'net.macs': [part('net.macs')],
    'cpu.signature': part('cpu.signature'),
    'hw.model': part('hw.model'),
  };
}

let productCounter = 0;

export async function aProduct(ctx: DomainContext, overrides: Partial<NewProduct> = {}): Promise<Product> {
  return createProduct(ctx, { name: `product-${++productCounter}-${Date.now()}`, ...overrides }, 'test');
}

export async function aCode(ctx: DomainContext, product: Product, overrides: { seats?: number; days?: number; features?: string[] } = {}): Promise<CodeView> {
  return issueCode(
    ctx,
    {
      product: product.name,
      seats: overrides.seats ?? 1,
      validity: { expiresAt: ctx.clock.now() + (overrides.days ?? 30) * DAY },
      features: overrides.features ?? [],
    },
    'test',
  );
}

const T0 = Date.UTC(2026, 0, 1);

/** A product as stored, for the parts tested without a database: the defaults, and `changes`. */
export function productRecord(changes: Partial<Product> = {}): Product {
  return {
    id: 'product-1',
    name: 'name-product-1',
    seatMode: 'node_locked',
    leaseSeconds: 604_800,
    heartbeatIntervalSeconds: 3600,
    matchStrategy: 'fuzzy',
    reclaim: 'eager',
    churnLimit: null,
    churnPeriodSeconds: 86_400,
    fingerprintChangeWindowSeconds: 30 * 86_400,
    containers: 'refuse',
    latestVersion: null,
    minimumVersion: null,
    createdAt: T0,
    ...changes,
  };
}

/** An alive code of productRecord() as stored, five seats for 30 days from T0, with `changes`. */
export function codeRecord(changes: Partial<LicenseCode> = {}): LicenseCode {
  return {
    id: 'code-1',
    productId: 'product-1',
    code: 'CODE1',
    status: 'alive',
    seats: 5,
    maxConcurrent: null,
    features: ['pro'],
    expiresAt: T0 + 30 * DAY,
    firstActivatedAt: T0,
    metadata: {},
    test: false,
    createdAt: T0,
    updatedAt: T0,
    ...changes,
  };
}
