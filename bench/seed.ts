import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { anchorEntries } from '@licensor/client/contract';
import { generateAuthorizationCode } from '../src/domain/authorization-code';
import { hashSecret } from '../src/domain/activation-proof';
import { uuidv7 } from '../src/domain/clock';

/** A fingerprint of 32-hex component hashes, derived from a name (benchmarks do not need real hardware). */
export function benchFingerprint(name: string): Record<string, string | string[]> {
  const h = (s: string) => createHash('sha256').update(`${name}:${s}`).digest('hex').slice(0, 32);
  return {
    'os.machineId': h('os'),
    'hw.systemUuid': h('uuid'),
    'hw.boardSerial': h('board'),
    'disk.bootSerial': h('disk'),
    'net.macs': [h('mac')],
    'cpu.signature': h('cpu'),
    'hw.model': h('model'),
  };
}

/** The secret of a seeded activation (what its client would have kept from its activation answer). */
export function benchSecret(activationId: string): string {
  return createHash('sha256').update(`secret:${activationId}`).digest('base64url');
}

export interface Seeded {
  productId: string;
  productName: string;
  activations: string[];
}

const BATCH = 500;

/**
 * Bulk rows straight into the tables (a benchmark fixture, not a domain operation): `count` codes
 * of one product, each with one live activation of a machine of its own, whose fingerprint is
 * `benchFingerprint(<activation id>)` and whose anchors are indexed as an activation's are.
 * Ids are UUIDv7, as the server makes them: in insertion order, so the primary keys grow at
 * their end instead of all over (a random id per row made seeding a million twice as slow).
 * Returns up to `keep` activation ids to beat.
 */
export async function seed(
  knex: Knex,
  count: number,
  options: { productName: string; seats?: number; expiresAt?: number; status?: string; keep?: number; onProgress?: (done: number) => void },
): Promise<Seeded> {
  const now = Date.now();
  let product = await knex('products').where({ name: options.productName }).first();
  if (!product) {
    product = {
      id: uuidv7(),
      name: options.productName,
      seat_mode: 'node_locked',
      lease_seconds: 7 * 86_400,
      heartbeat_interval_seconds: 3600,
      match_strategy: 'fuzzy',
      created_at: now,
    };
    await knex('products').insert(product);
  }
  const activations: string[] = [];
  const keep = options.keep ?? 1000;
  for (let done = 0; done < count; done += BATCH) {
    const n = Math.min(BATCH, count - done);
    const codes: Record<string, unknown>[] = [];
    const acts: Record<string, unknown>[] = [];
    const anchors: Record<string, unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const codeId = uuidv7();
      codes.push({
        id: codeId,
        product_id: product.id,
        code: generateAuthorizationCode(),
        status: options.status ?? 'alive',
        seats: options.seats ?? 1,
        features: '[]',
        expires_at: options.expiresAt ?? now + 365 * 86_400_000,
        first_activated_at: now,
        metadata: '{}',
        test: false,
        revision: 0,
        created_at: now,
        updated_at: now,
      });
      const activationId = uuidv7();
      const fingerprint = benchFingerprint(activationId);
      for (const a of anchorEntries(fingerprint)) anchors.push({ activation_id: activationId, product_id: product.id, component: a.component, hash: a.hash });
      acts.push({
        id: activationId,
        code_id: codeId,
        product_id: product.id,
        fingerprint: JSON.stringify(fingerprint),
        environment: '{}',
        status: 'active',
        clone_suspect: false,
        created_at: now,
        last_heartbeat_at: now,
        ended_at: null,
        secret_hash: hashSecret(benchSecret(activationId)),
      });
      if (activations.length < keep) activations.push(activationId);
    }
    await knex.transaction(async (trx) => {
      await trx('codes').insert(codes);
      await trx('activations').insert(acts);
      // SQLite writes a multi-row insert as one compound SELECT, of at most 500 terms.
      for (let i = 0; i < anchors.length; i += BATCH) await trx('activation_anchors').insert(anchors.slice(i, i + BATCH));
    });
    options.onProgress?.(done + n);
  }
  return { productId: product.id, productName: product.name, activations };
}
