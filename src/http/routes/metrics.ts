import { Router, type RequestHandler } from 'express';
import type { LicensorMetrics } from '../../metrics/licensor-metrics';
import { Forbidden } from '../../domain/errors';
import { requireBearerToken } from '../admin-auth';
import { declareRoutes, refusals } from '../openapi/registry';

/**
 * Prometheus scrapes /metrics; with LICENSOR_METRICS_TOKEN set it must send that token. Without
 * one, /metrics is open only while the server listens on loopback: it tells seat counts per
 * product, which are nobody else's business (docs/operations.md).
 */
export function metricsEndpoint(metrics: LicensorMetrics, token: string | undefined, loopbackOnly: boolean): Router {
  const router = Router();
  const guard: RequestHandler = token
    ? requireBearerToken(token, 'metrics_token_required', 'send the metrics token as "Authorization: Bearer <token>"')
    : loopbackOnly
      ? (_req, _res, next) => next()
      : (_req, _res, next) => next(new Forbidden('metrics_token_not_configured', NOT_CONFIGURED));
  router.get('/metrics', guard, async (_req, res) => {
    const { contentType, body } = await metrics.render();
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', contentType);
    res.send(body);
  });
  return router;
}

const NOT_CONFIGURED =
  '/metrics is closed: this server listens beyond loopback; set LICENSOR_METRICS_TOKEN and have Prometheus send it as "Authorization: Bearer <token>"';

export const metricsRoutes = declareRoutes([
  {
    method: 'get',
    path: '/metrics',
    tag: 'Operations',
    auth: ['metricsToken'],
    summary: 'Prometheus metrics (text exposition format); see docs/operations.md',
    responses: { 200: { description: 'The metrics of this process', contentType: 'text/plain; version=0.0.4' }, ...refusals(401, 403) },
  },
]);
