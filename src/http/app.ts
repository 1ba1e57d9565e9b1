import { randomUUID } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import { listensOnLoopbackOnly } from '../config';
import type { Logger } from '../logger';
import type { LicensorMetrics } from '../metrics/licensor-metrics';
import { metricsFor } from '../metrics/runtime-metrics';
import type { Runtime } from '../runtime';
import { requireAdmin } from './admin-auth';
import { errorResponder, notFoundResponder } from './error-response';
import { jsonRequest } from './json-body';
import { routeDirectly } from './heartbeat/direct-route';
import { RequestsInFlight } from './heartbeat/in-flight';
import { buildOpenApiDocument, documentedRoutes } from './openapi/document';
import { routePatternMatcher } from './openapi/registry';
import { CodeGuessGuard } from './rate-limit';
import { observeRequests } from './request-observer';
import { adminCodes } from './routes/admin-codes';
import { adminKeys } from './routes/admin-keys';
import { adminProducts } from './routes/admin-products';
import { adminStats } from './routes/admin-stats';
import { adminTokens } from './routes/admin-tokens';
import { clientApi } from './routes/client-api';
import { heartbeatRoute } from './heartbeat/heartbeat-route';
import { dashboard } from './routes/dashboard';
import { health } from './routes/health';
import { marketplaceAdmin, marketplaceCodeImport } from './marketplace/marketplace-admin';
import { marketplaceOpenApi } from './marketplace/open-api';
import { metricsEndpoint } from './routes/metrics';
import { openApiDocs } from './routes/openapi';
import { outboxAdmin } from './routes/admin-outbox';
import { productionInterface } from './marketplace/production-interface';
import { webhooksAdmin } from './routes/admin-webhooks';
import { wellKnown } from './routes/well-known';
import { openGuessBudgetStore } from '../storage/guess-budget-store';

interface AppOptions {
  adminToken: string;
  logger: Logger;
  /** Set when the server is shutting down: /readyz says so and every answer closes its connection. */
  draining?: { value: boolean };
  /** Shared with the sweeper by the server; a fresh set when absent. */
  metrics?: LicensorMetrics;
  /** Counts requests and connections; the server shares it with the signer (src/runtime.ts). A fresh count when absent. */
  inFlight?: RequestsInFlight;
}

/** Assembles the HTTP surfaces. Routes know Express; the domain knows the rules. */
export function createApp(runtime: Runtime, options: AppOptions): Express {
  const app = express();
  const draining = options.draining ?? { value: false };
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.set('trust proxy', runtime.config.trustProxy);
  // One guard for every route that takes an authorization code, so a guesser cannot switch routes.
  const guessGuard = new CodeGuessGuard(runtime.config.guessLimits, runtime.ctx.clock, openGuessBudgetStore(runtime.database));
  const inFlight = options.inFlight ?? new RequestsInFlight();

  const identify: RequestHandler = (req, res, next) => {
    inFlight.track(req, res);
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    if (draining.value) res.setHeader('Connection', 'close');
    next();
  };
  const metrics = options.metrics ?? metricsFor(runtime);
  const observe = observeRequests({ metrics, logger: options.logger, patternOf: routePatternMatcher(documentedRoutes(runtime.config)) });

  const errors = errorResponder(options.logger);

  // First, as one route: heartbeats are most of the traffic, and every layer before them costs
  // each one a match (measured: a few percent of a lone heartbeat). Exactly `POST /v1/heartbeat`
  // does not walk the router at all (direct-route.ts); its errors reach the same responder as
  // every other route's, and any other method on its path goes on to the layers below.
  routeDirectly(app, 'POST', '/v1/heartbeat', [identify, observe, ...heartbeatRoute(runtime.ctx, runtime.keyRing)], errors);
  app.use(identify, observe);
  app.use(clientApi(runtime.ctx, guessGuard, runtime.keyRing));
  app.use(health(runtime.database, draining));
  app.use(openApiDocs(buildOpenApiDocument(runtime.config)));
  app.use(metricsEndpoint(metrics, runtime.config.metricsToken, listensOnLoopbackOnly(runtime.config.host)));
  app.use(wellKnown(runtime.keyRing, runtime.ctx.clock));
  // Every admin route, whichever router answers it, behind one token check.
  app.use('/v1/admin', requireAdmin(options.adminToken, runtime.ctx));
  app.use(marketplaceCodeImport(runtime));
  // Admin bodies are small JSON; the code import above takes its own, larger limit.
  app.use('/v1/admin', jsonRequest('64kb'));
  app.use(adminProducts(runtime));
  app.use(adminCodes(runtime));
  app.use(adminKeys(runtime));
  app.use(adminTokens(runtime));
  app.use(adminStats(runtime.ctx));
  app.use(dashboard());
  app.use(marketplaceAdmin(runtime));
  app.use(outboxAdmin(runtime));
  app.use(webhooksAdmin(runtime));
  app.use(productionInterface(runtime, options.logger));
  app.use(marketplaceOpenApi(runtime, options.logger, guessGuard));

  app.use(notFoundResponder);
  app.use(errors);
  return app;
}
