import { createHash } from 'node:crypto';
import type { FingerprintHashes } from '@licensor/client/contract';
import { issueCode, type CodeView } from '../../src/domain/codes';
import type { DomainContext } from '../../src/domain/context';
import { createProduct, type NewProduct } from '../../src/domain/products';
import type { Product } from '../../src/domain/types';
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
