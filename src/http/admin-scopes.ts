import type { AdminScope } from '../domain/types';
import { routePatternMatcher, type HttpMethod } from './openapi/registry';

/**
 * The scope each admin route needs (docs/operations.md "Admin tokens"), as one table. Reads need
 * `read`; issuing and renewing codes `codes` (a codes token only for its products, checked by the
 * route with the product in hand); everything else `full`. A route missing here needs `full`, and
 * test/admin-tokens.test.ts fails until every served admin route is listed.
 */
export const ADMIN_ROUTE_SCOPES: Readonly<Record<string, AdminScope>> = {
  'GET /v1/admin/whoami': 'read',
  'GET /v1/admin/products': 'read',
  'GET /v1/admin/products/:name': 'read',
  'POST /v1/admin/products': 'full',
  'PATCH /v1/admin/products/:name': 'full',
  'POST /v1/admin/products/:name/versions': 'full',
  'GET /v1/admin/codes': 'read',
  'GET /v1/admin/codes/:code': 'read',
  'GET /v1/admin/codes/:code/activations': 'read',
  'POST /v1/admin/codes': 'codes',
  'POST /v1/admin/codes/:code/renew': 'codes',
  'POST /v1/admin/codes/:code/freeze': 'full',
  'POST /v1/admin/codes/:code/unfreeze': 'full',
  'POST /v1/admin/codes/:code/release': 'full',
  'GET /v1/admin/activations/:id': 'read',
  'DELETE /v1/admin/activations/:id': 'full',
  'GET /v1/admin/audit': 'read',
  'GET /v1/admin/keys': 'read',
  'POST /v1/admin/keys/rotate': 'full',
  'GET /v1/admin/stats/heartbeats': 'read',
  'GET /v1/admin/usage': 'read',
  'GET /v1/admin/marketplace/instances': 'read',
  'GET /v1/admin/marketplace/licenses': 'read',
  'POST /v1/admin/marketplace/codes/import': 'full',
  'GET /v1/admin/outbox': 'read',
  'GET /v1/admin/outbox/summary': 'read',
  'GET /v1/admin/outbox/:id': 'read',
  'POST /v1/admin/outbox/:id/retry': 'full',
  'GET /v1/admin/tokens': 'full',
  'POST /v1/admin/tokens': 'full',
  'POST /v1/admin/tokens/:name/revoke': 'full',
  'GET /v1/admin/webhooks': 'read',
  'GET /v1/admin/webhooks/event-types': 'read',
  'GET /v1/admin/webhooks/:id': 'read',
  'GET /v1/admin/webhooks/:id/deliveries': 'read',
  'POST /v1/admin/webhooks': 'full',
  'PATCH /v1/admin/webhooks/:id': 'full',
  'DELETE /v1/admin/webhooks/:id': 'full',
  'POST /v1/admin/webhooks/:id/secret': 'full',
  'POST /v1/admin/webhooks/:id/deliveries/:delivery/resend': 'full',
};

const patternOf = routePatternMatcher(
  Object.keys(ADMIN_ROUTE_SCOPES).map((key) => {
    const [method, path] = key.split(' ') as [string, string];
    return { method: method.toLowerCase() as HttpMethod, path };
  }),
);

/** The scope a request needs: its route's, or `full` for a path no route declares (it ends in 404 for whoever may ask). */
export function scopeNeeded(method: string, path: string): AdminScope {
  const pattern = patternOf(method, path);
  return pattern === undefined ? 'full' : ADMIN_ROUTE_SCOPES[`${method === 'HEAD' ? 'GET' : method.toUpperCase()} ${pattern}`]!;
}
