import type { z } from 'zod';
import { errorBodySchema, openApiRefusalSchema } from '../response-schemas';

/**
 * What a route declares about itself for the OpenAPI document (src/http/openapi/document.ts).
 * Each route file exports its declarations next to the handlers, using the very schemas the
 * handlers parse with, so the document cannot drift from what is validated. test/openapi.test.ts
 * fails when a served route is not declared, or a declared one is not served.
 */
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** How a caller proves who it is; the names are the document's security schemes. */
type RouteAuth = 'adminToken' | 'leaseToken' | 'metricsToken' | 'apigSignature' | 'marketplaceSignature';

interface ResponseDoc {
  description: string;
  /** The body's shape; absent for a body described only in words. */
  schema?: z.ZodType;
  /** Default application/json. */
  contentType?: string;
}

export interface RouteDoc {
  method: HttpMethod;
  /** The Express pattern exactly as mounted, e.g. `/v1/admin/codes/:code`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  auth?: RouteAuth[];
  /** Path parameters; a `:name` in the path without a schema is documented as a string. */
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Default application/json. */
  bodyContentType?: string;
  bodyRequired?: boolean;
  responses: Record<number, ResponseDoc>;
}

/** Typed identity: keeps a route file's declarations checked without a class around them. */
export function declareRoutes(routes: RouteDoc[]): RouteDoc[] {
  return routes;
}

/** `/v1/admin/codes/:code` → `/v1/admin/codes/{code}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

export function pathParamNames(expressPath: string): string[] {
  return [...expressPath.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}

/**
 * Finds the declared pattern a raw path belongs to, for requests that were refused before Express
 * matched a route (an admin call without the token, a body that did not parse). Off the hot path:
 * a matched route names its pattern itself.
 */
export function routePatternMatcher(routes: Array<Pick<RouteDoc, 'method' | 'path'>>): (method: string, path: string) => string | undefined {
  const compiled = routes.map((r) => ({
    method: r.method.toUpperCase(),
    pattern: r.path,
    regex: new RegExp(
      '^' +
        r.path
          .split('/')
          .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join('/') +
        '/?$',
    ),
  }));
  return (method, path) => {
    const upper = method === 'HEAD' ? 'GET' : method;
    return compiled.find((c) => c.method === upper && c.regex.test(path))?.pattern;
  };
}

const REFUSALS: Record<number, string> = {
  400: 'Invalid input: invalid_request (details.issues lists each problem with its path), invalid_json, malformed_code, …',
  401: 'Not authenticated: admin_token_required, metrics_token_required, …',
  403: 'Refused: fingerprint_mismatch, activation_proof_invalid, token_scope_insufficient',
  404: 'Not found: code_not_found, activation_not_found, product_not_found',
  409: 'Conflict with the current state: seat_limit_reached, illegal_transition, activation_ended, product_exists, …',
  413: 'payload_too_large',
  415: 'unsupported_media_type (send application/json)',
  429: 'too_many_attempts, with Retry-After',
  503: 'database_unavailable or database_busy (with Retry-After), shutting_down, migrations_pending',
};

/** Error answers `{ error: { code, message, details? } }` for the given statuses. */
export function refusals(...statuses: number[]): Record<number, ResponseDoc> {
  return Object.fromEntries(statuses.map((s) => [s, { description: REFUSALS[s] ?? 'Refused', schema: errorBodySchema }]));
}

/** The marketplace-compatible open API refuses in its own vocabulary (§2.6). */
export function openApiRefusals(): Record<number, ResponseDoc> {
  return {
    400: { description: '92020002 invalid parameter', schema: openApiRefusalSchema },
    403: { description: '92020001 unauthorized (AK/SK signature missing or wrong, when configured)', schema: openApiRefusalSchema },
    429: { description: 'APIG.0308 throttled (code guessing), with Retry-After', schema: openApiRefusalSchema },
    500: { description: '92020001 internal error', schema: openApiRefusalSchema },
  };
}

/** An admin route's declaration: the admin tag, the admin token, and the refusals every admin route may give. */
export function adminRoute(route: Omit<RouteDoc, 'tag' | 'auth'>): RouteDoc {
  return { ...route, tag: 'Admin API', auth: ['adminToken'], responses: { ...refusals(401, 403, 503), ...route.responses } };
}
