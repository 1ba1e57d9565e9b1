import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { Unauthorized } from '../domain/errors';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Bearer-token check in constant time (digests have equal length whatever the input). */
export function requireAdmin(adminToken: string): RequestHandler {
  return requireBearerToken(adminToken, 'admin_token_required', 'send the admin token as "Authorization: Bearer <token>"');
}

export function requireBearerToken(token: string, code: string, message: string): RequestHandler {
  const expected = digest(token);
  return (req, _res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !timingSafeEqual(digest(match[1]!.trim()), expected)) {
      next(new Unauthorized(code, message));
      return;
    }
    next();
  };
}
