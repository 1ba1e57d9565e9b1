import { hashSecret } from './activation-proof';
import { auditEvent } from './audit';
import type { DomainContext } from './context';
import { Conflict, Forbidden, InvalidInput, NotFound } from './errors';
import { ADMIN_SCOPES, type Actor, type AdminScope, type AdminToken } from './types';

/** Who is calling the admin API, and what it may do: the bootstrap token or a named one. */
export interface AdminGrant {
  /** The audit trail's actor: `admin-api` for the bootstrap token, `token:<name>` for a named one. */
  actor: Actor;
  /** Null for the bootstrap token. */
  name: string | null;
  scope: AdminScope;
  products: string[] | null;
}

/** The bootstrap token (LICENSOR_ADMIN_TOKEN or the generated one): full scope, the actor it always was. */
export const BOOTSTRAP_GRANT: AdminGrant = Object.freeze({ actor: 'admin-api', name: null, scope: 'full', products: null });

/** Named tokens start with this, so a leaked one is recognisable (and secret scanners can match it). */
const TOKEN_PREFIX = 'lsr_';

const LAST_USED_PRECISION_MS = 60_000;

interface NewAdminToken {
  name: string;
  scope: AdminScope;
  products?: string[];
}

/** Creates a named token; the token itself is returned this once and only its digest is stored. */
export async function createAdminToken(ctx: DomainContext, input: NewAdminToken, actor: Actor): Promise<{ token: string; record: AdminToken }> {
  const products = input.scope === 'codes' ? [...new Set(input.products ?? [])].sort() : null;
  if (input.scope === 'codes' && products!.length === 0) {
    throw new InvalidInput('token_products_required', 'a "codes" token needs the products it may issue and renew codes for');
  }
  if (input.scope !== 'codes' && input.products !== undefined && input.products.length > 0) {
    throw new InvalidInput('token_products_unexpected', `products limit only a "codes" token; a "${input.scope}" token reaches every product`);
  }
  const token = TOKEN_PREFIX + ctx.ids.secret();
  const record: AdminToken = {
    id: ctx.ids.id(),
    name: input.name,
    scope: input.scope,
    products,
    createdAt: ctx.clock.now(),
    revokedAt: null,
    lastUsedAt: null,
  };
  await ctx.repo.transaction(async (tx) => {
    if (await tx.adminTokens.findByName(input.name))
      throw new Conflict('token_exists', `a token named "${input.name}" already exists (revoked tokens keep their names)`);
    for (const name of products ?? []) {
      if (!(await tx.products.findByName(name))) throw new NotFound('product_not_found', `no product named "${name}"`);
    }
    await tx.adminTokens.insert(record, hashSecret(token));
    await tx.audit.insert([
      auditEvent(ctx, record.createdAt, actor, 'admin_token.created', { type: 'admin_token', id: record.id }, null, null, describe(record)),
    ]);
  });
  return { token, record };
}

export function listAdminTokens(ctx: DomainContext): Promise<AdminToken[]> {
  return ctx.repo.adminTokens.list();
}

/** Revokes a token at once, on every process (each request looks its token up). Revoking twice changes nothing. */
export async function revokeAdminToken(ctx: DomainContext, name: string, actor: Actor): Promise<{ record: AdminToken; changed: boolean }> {
  return ctx.repo.transaction(async (tx) => {
    const record = await tx.adminTokens.findByName(name);
    if (!record) throw new NotFound('token_not_found', `no token named "${name}"`);
    if (record.revokedAt !== null) return { record, changed: false };
    const now = ctx.clock.now();
    await tx.adminTokens.revoke(record.id, now);
    const revoked = { ...record, revokedAt: now };
    await tx.audit.insert([
      auditEvent(ctx, now, actor, 'admin_token.revoked', { type: 'admin_token', id: record.id }, null, describe(record), describe(revoked)),
    ]);
    return { record: revoked, changed: true };
  });
}

/** The grant of a named token, or undefined when no live token has that value. */
export async function grantOfToken(ctx: DomainContext, token: string): Promise<AdminGrant | undefined> {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  const record = await ctx.repo.adminTokens.findByHash(hashSecret(token));
  if (!record || record.revokedAt !== null) return undefined;
  // When it was last used, to the minute: enough to find unused tokens, without a write per call.
  const now = ctx.clock.now();
  // Best effort: a call is not refused because its bookkeeping could not be written.
  if (record.lastUsedAt === null || now - record.lastUsedAt >= LAST_USED_PRECISION_MS)
    await ctx.repo.adminTokens.noteUse(record.id, now).catch(() => undefined);
  return { actor: `token:${record.name}`, name: record.name, scope: record.scope, products: record.products };
}

/** Refuses a call the grant's scope does not reach; `product` names the product a code call concerns. */
export function requireScope(grant: AdminGrant, needed: AdminScope, product?: string): void {
  if (ADMIN_SCOPES.indexOf(grant.scope) < ADMIN_SCOPES.indexOf(needed)) {
    throw new Forbidden(
      'token_scope_insufficient',
      `this needs a "${needed}" token; ${grant.name === null ? 'this token' : `token "${grant.name}"`} has scope "${grant.scope}"`,
      {
        scope: grant.scope,
        needed,
      },
    );
  }
  if (needed === 'codes' && product !== undefined && grant.products !== null && !grant.products.includes(product)) {
    throw new Forbidden('token_scope_insufficient', `token "${grant.name}" may not issue or renew codes of product "${product}"`, {
      scope: grant.scope,
      products: grant.products,
    });
  }
}

function describe(t: AdminToken): Record<string, unknown> {
  return { name: t.name, scope: t.scope, products: t.products, revokedAt: t.revokedAt === null ? null : new Date(t.revokedAt).toISOString() };
}
