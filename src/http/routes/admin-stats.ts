import { Router } from 'express';
import type { DomainContext } from '../../domain/context';
import { InvalidInput } from '../../domain/errors';
import { heartbeatSeries, STATS_RETENTION_MS } from '../../domain/heartbeat-stats';
import { declareRoutes, refusals } from '../openapi/registry';
import { heartbeatSeriesSchema } from '../response-schemas';
import { heartbeatStatsQuerySchema } from '../../application/schemas';
import { parse } from '../../application/validate';
import { DAY_MS } from '../../domain/clock';

/** Statistics for the dashboard's chart, behind the admin token. */
export function adminStats(ctx: DomainContext): Router {
  const router = Router();

  router.get('/v1/admin/stats/heartbeats', async (req, res) => {
    const q = parse(heartbeatStatsQuerySchema, req.query, 'query');
    const to = q.to ?? ctx.clock.now();
    const from = q.from ?? to - DAY_MS;
    if (!(from < to)) throw new InvalidInput('invalid_request', 'query.from: must be before query.to');
    if (to - from > STATS_RETENTION_MS) throw new InvalidInput('invalid_request', `query.from: the range may span at most ${STATS_RETENTION_MS / DAY_MS} days`);
    const series = await heartbeatSeries(ctx, { product: q.product, from, to, maxPoints: q.points });
    res.json({
      product: q.product ?? null,
      from: new Date(series.from).toISOString(),
      to: new Date(series.to).toISOString(),
      stepSeconds: series.stepMs / 1000,
      points: series.points.map((p) => ({ at: new Date(p.at).toISOString(), beats: p.beats, activeSeats: p.activeSeats })),
    });
  });

  return router;
}

export const adminStatsRoutes = declareRoutes([
  {
    method: 'get',
    path: '/v1/admin/stats/heartbeats',
    tag: 'Admin API',
    auth: ['adminToken'],
    summary: 'Heartbeats and active seats over time, in buckets (the dashboard chart)',
    query: heartbeatStatsQuerySchema,
    responses: { 200: { description: 'Every bucket of the range, oldest first', schema: heartbeatSeriesSchema }, ...refusals(400, 401, 503) },
  },
]);
