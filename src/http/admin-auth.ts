import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { BOOTSTRAP_GRANT, grantOfToken, requireScope, type AdminGrant } from '../domain/admin-tokens';
import type { DomainContext } from '../domain/context';
import { Unauthorized } from '../domain/errors';
import { scopeNeeded } from './admin-scopes';

const digest = (s: string) => createHash('sha256').update(s).digest();

const ADMIN_TOKEN_HINT = 'send an admin token as "Authorization: Bearer <token>"';

/**
 * Admin authentication and scope (docs/operations.md "Admin tokens"): the bootstrap token is
 * compared in constant time and has full scope; any other token is looked up by its digest on
 * every call, so a revoked token stops at once on every process. A call beyond the token's scope
 * is refused 403 token_scope_insufficient before any route runs (src/http/admin-scopes.ts).
 */
export function requireAdmin(bootstrapToken: string, ctx: DomainContext): RequestHandler {
  const expected = digest(bootstrapToken);
  return (req, res, next) => {
    const presented = bearerToken(req.headers.authorization);
    if (presented === undefined) return next(new Unauthorized('admin_token_required', ADMIN_TOKEN_HINT));
    const grant = timingSafeEqual(digest(presented), expected) ? Promise.resolve(BOOTSTRAP_GRANT) : grantOfToken(ctx, presented);
    grant
      .then((found) => {
        if (!found) return next(new Unauthorized('admin_token_required', ADMIN_TOKEN_HINT));
        res.locals.adminGrant = found;
        // req.path is relative to the '/v1/admin' mount: the table names whole paths.
        requireScope(found, scopeNeeded(req.method, req.baseUrl + req.path));
        next();
      })
      .catch(next);
  };
}

/** Who is calling, set by requireAdmin for every /v1/admin route. */
export function grantOf(res: Response): AdminGrant {
  const grant = res.locals.adminGrant as AdminGrant | undefined;
  // Fails closed: a route mounted outside the admin check must not act as the bootstrap token.
  if (!grant) throw new Unauthorized('admin_token_required', ADMIN_TOKEN_HINT);
  return grant;
}

export function requireBearerToken(token: string, code: string, message: string): RequestHandler {
  const expected = digest(token);
  return (req, _res, next) => {
    const presented = bearerToken(req.headers.authorization);
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      next(new Unauthorized(code, message));
      return;
    }
    next();
  };
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return match ? match[1]!.trim() : undefined;
}
