import { Router, type RequestHandler } from 'express';
import type { LicensorMetrics } from '../../metrics/licensor-metrics';
import { requireBearerToken } from '../admin-auth';
import { declareRoutes, refusals } from '../openapi/registry';

/** Prometheus scrapes /metrics; with LICENSOR_METRICS_TOKEN set it must send that token. */
export function metricsEndpoint(metrics: LicensorMetrics, token: string | undefined): Router {
  const router = Router();
  const guard: RequestHandler = token
    ? requireBearerToken(token, 'metrics_token_required', 'send the metrics token as "Authorization: Bearer <token>"')
    : (_req, _res, next) => next();
  router.get('/metrics', guard, async (_req, res) => {
    const { contentType, body } = await metrics.render();
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', contentType);
    res.send(body);
  });
  return router;
}

export const metricsRoutes = declareRoutes([
  {
    method: 'get',
    path: '/metrics',
    tag: 'Operations',
    auth: ['metricsToken'],
    summary: 'Prometheus metrics (text exposition format); see docs/operations.md',
    responses: { 200: { description: 'The metrics of this process', contentType: 'text/plain; version=0.0.4' }, ...refusals(401) },
  },
]);
