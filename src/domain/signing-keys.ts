import { auditEvent } from './audit';
import type { DomainContext } from './context';
import { Conflict } from './errors';
import type { Actor, KeyAlgorithm, SigningKey } from './types';

export interface KeyPolicy {
  alg: KeyAlgorithm;
  /** The longest a token can live; a retired key is published this long after rotation. */
  maxTokenLifetimeMs: number;
  generate(alg: KeyAlgorithm, generation: number, now: number): Promise<SigningKey>;
  /** The outgoing key's signature over the incoming key's public JWK (client/src/contract/key-endorsement.ts). */
  endorse(endorser: SigningKey, endorsed: SigningKey, now: number): string;
}

export function currentKey(keys: SigningKey[]): SigningKey | undefined {
  return keys.filter((k) => k.status === 'active').sort((a, b) => b.generation - a.generation)[0];
}

/** Keys whose public half belongs in the JWKS right now. */
export function publishedKeys(keys: SigningKey[], now: number): SigningKey[] {
  return keys.filter((k) => k.status === 'active' || (k.publishUntil !== null && k.publishUntil > now));
}

/** First start: create a key unless one exists. Safe when several processes start at once. */
export async function ensureSigningKey(ctx: DomainContext, policy: KeyPolicy): Promise<SigningKey> {
  const existing = currentKey(await ctx.repo.keys.list());
  if (existing) return existing;
  const now = ctx.clock.now();
  const key = await policy.generate(policy.alg, 1, now);
  await ctx.repo.transaction(async (tx) => {
    if (await tx.keys.insert(key)) {
      await tx.audit.insert([auditEvent(ctx, now, 'system', 'key.created', { type: 'key', id: key.kid }, null, null, { alg: key.alg })]);
    }
  });
  const winner = currentKey(await ctx.repo.keys.list());
  if (!winner) throw new Error('no signing key after creating one');
  return winner;
}

/**
 * Rotation: a new key signs from now on, endorsed by the key it replaces, so a client that trusts
 * the old key can learn the new one (docs/server.md "Key endorsements"). The previous key stays
 * published until the last token it could have signed has expired, so nothing already issued
 * stops verifying, and loses its private half: it verifies, it never signs again.
 */
export async function rotateSigningKey(ctx: DomainContext, policy: KeyPolicy, actor: Actor): Promise<{ current: SigningKey; retired: SigningKey[] }> {
  const now = ctx.clock.now();
  const before = await ctx.repo.keys.list();
  const generation = before.reduce((max, k) => Math.max(max, k.generation), 0) + 1;
  const generated = await policy.generate(policy.alg, generation, now);
  return ctx.repo.transaction(async (tx) => {
    const keys = await tx.keys.list();
    const outgoing = currentKey(keys);
    const key = { ...generated, endorsement: outgoing ? policy.endorse(outgoing, generated, now) : null };
    if (!(await tx.keys.insert(key))) throw new Conflict('rotation_conflict', 'another rotation happened at the same time; run it again');
    const retired: SigningKey[] = [];
    for (const old of keys.filter((k) => k.status === 'active')) {
      const publishUntil = now + policy.maxTokenLifetimeMs;
      await tx.keys.retire(old.kid, now, publishUntil);
      retired.push({ ...old, status: 'retired', retiredAt: now, publishUntil, privateKeyPem: null });
    }
    await tx.audit.insert([
      auditEvent(
        ctx,
        now,
        actor,
        'key.rotated',
        { type: 'key', id: key.kid },
        null,
        { kids: retired.map((k) => k.kid) },
        { kid: key.kid, alg: key.alg, endorsedBy: outgoing?.kid ?? null },
      ),
    ]);
    return { current: key, retired };
  });
}

/**
 * At every start (docs/deploy.md "Signing keys at rest"), in one audited transaction: retired keys
 * of databases older than public-only retirement lose their private half, and with a
 * key-encryption key configured every private half still stored unsealed is sealed.
 */
export async function secureSigningKeys(ctx: DomainContext): Promise<{ dropped: string[]; sealed: string[] }> {
  const now = ctx.clock.now();
  return ctx.repo.transaction(async (tx) => {
    const dropped = await tx.keys.dropRetiredPrivateHalves();
    const sealed = await tx.keys.sealUnsealed();
    const events = [
      ...dropped.map((kid) =>
        auditEvent(ctx, now, 'system', 'key.private_half_dropped', { type: 'key', id: kid }, null, { privateKey: 'kept' }, { privateKey: 'dropped' }),
      ),
      ...sealed.map((kid) =>
        auditEvent(ctx, now, 'system', 'key.sealed', { type: 'key', id: kid }, null, { privateKey: 'unsealed' }, { privateKey: 'sealed' }),
      ),
    ];
    if (events.length > 0) await tx.audit.insert(events);
    return { dropped, sealed };
  });
}

/** Every signing key, current, retired and pending, as the operator sees them. */
export async function listSigningKeys(ctx: DomainContext): Promise<Array<ReturnType<typeof describeKey>>> {
  return (await ctx.repo.keys.list()).map(describeKey);
}

/** The public view of a key: never the private half (its endorsement is published in the JWKS). */
export function describeKey(key: SigningKey): Omit<SigningKey, 'privateKeyPem' | 'endorsement'> {
  const { privateKeyPem: _secret, endorsement: _published, ...rest } = key;
  void _secret;
  void _published;
  return rest;
}
