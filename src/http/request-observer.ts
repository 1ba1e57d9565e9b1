import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler, Response } from 'express';
import { codeHint, normalizeAuthorizationCode } from '../domain/authorization-code';
import type { Logger } from '../logger';
import type { LicensorMetrics } from '../metrics/licensor-metrics';

/** Pages served as static files: one label each, whatever file was asked for. */
const STATIC_PREFIXES = ['/admin', '/docs'];

/**
 * Routes whose successful answers are logged at debug, not info: heartbeats are most of the
 * traffic (every machine, every few minutes) and say nothing new when they succeed — the
 * metrics count them; probes and scrapes arrive every few seconds. Their refusals stay at info.
 */
const QUIET_ROUTES = new Map([
  ['/v1/heartbeat', 'POST'],
  ['/healthz', 'GET'],
  ['/readyz', 'GET'],
  ['/metrics', 'GET'],
]);

/** Status recorded for a request whose client went away before the answer was complete. */
const CLIENT_CLOSED = 499;

interface RequestObserverOptions {
  metrics: LicensorMetrics;
  logger: Logger;
  /** The declared pattern of a path that Express did not route (refused before routing). */
  patternOf: (method: string, path: string) => string | undefined;
}

/**
 * One place that sees every answer: request metrics by route pattern and status, the client
 * outcome counters, and one access-log line per request. Nothing here reads a body or a header
 * value into a log: an authorization code appears only as its hint, tokens never.
 */
export function observeRequests({ metrics, logger, patternOf }: RequestObserverOptions): RequestHandler {
  function routeOf(req: Request): string {
    const pattern = req.route?.path;
    if (typeof pattern === 'string') return pattern;
    const path = req.originalUrl.split('?', 1)[0]!;
    const declared = patternOf(req.method, path);
    if (declared) return declared;
    for (const prefix of STATIC_PREFIXES) if (path === prefix || path.startsWith(prefix + '/')) return prefix + '/*';
    return '(unmatched)';
  }

  // One listener for every response (`this` is the response): no closure per request.
  function onClose(this: Response) {
    observe(this);
  }

  function observe(res: Response) {
    const req = res.req;
    const seconds = (performance.now() - (res.locals.startedAt as number)) / 1000;
    const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED;
    const route = routeOf(req);
    const method = req.method;
    metrics.observeRequest(method, route, status, seconds);
    const failed = status >= 400;
    if (method === 'POST' && route === '/v1/heartbeat') metrics.countHeartbeat(failed ? refusalCode(res, status) : 'ok');
    else if (method === 'POST' && route === '/v1/activations')
      metrics.countActivation(failed ? refusalCode(res, status) : status === 201 ? 'created' : 'existing');
    else if (method === 'DELETE' && route === '/v1/activations/:id') metrics.countDeactivation(failed ? refusalCode(res, status) : 'ok');
    const activity = res.locals.marketplaceActivity as string | undefined;
    const resultCode = res.locals.marketplaceResultCode as string | undefined;
    if (resultCode !== undefined) metrics.countMarketplaceCallback(activity ?? 'unknown', resultCode);

    const level = !failed && QUIET_ROUTES.get(route) === method ? 'debug' : 'info';
    if (!logger.isLevelEnabled(level)) return;
    const line: Record<string, unknown> = { requestId: res.locals.requestId, method, route, status, ms: Math.round(seconds * 10_000) / 10 };
    const hint = codeHintOf(req, res);
    if (hint) line.code = hint;
    if (failed) line.error = refusalCode(res, status);
    // Who called the admin API: every use of a named token is in the log under its name (docs/operations.md "Admin tokens").
    const grant = res.locals.adminGrant as { actor: string } | undefined;
    if (grant) line.actor = grant.actor;
    if (activity) line.activity = activity;
    if (resultCode) line.resultCode = resultCode;
    if (status === CLIENT_CLOSED) line.aborted = true;
    logger[level](line, 'request');
  }

  return (_req, res, next) => {
    res.locals.startedAt = performance.now();
    res.on('close', onClose);
    next();
  };
}

/** The stable refusal code the error responders recorded, or the status when none did. */
function refusalCode(res: Response, status: number): string {
  return (res.locals.errorCode as string | undefined) ?? `http_${status}`;
}

/**
 * The hint of the authorization code a request was about, if any: one a route noted, the `:code`
 * of an admin path, or `code` in a client's JSON body. Anything that is not a well-formed code
 * (an id, a typo) is left out rather than logged as typed.
 */
function codeHintOf(req: Request, res: Response): string | undefined {
  const noted = res.locals.codeHint;
  if (typeof noted === 'string') return noted;
  return codeHintFor(typeof req.params?.code === 'string' ? req.params.code : (req.body as { code?: unknown } | undefined)?.code);
}

/** The log hint of a value that may be an authorization code; undefined for anything else. */
export function codeHintFor(candidate: unknown): string | undefined {
  if (typeof candidate !== 'string') return undefined;
  try {
    return codeHint(normalizeAuthorizationCode(candidate));
  } catch {
    return undefined;
  }
}
