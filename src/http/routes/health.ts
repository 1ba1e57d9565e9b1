import { Router } from 'express';
import type { Database } from '../../storage/database';
import { migrationsCurrent } from '../../storage/migrate';
import { errorBody } from '../error-response';
import { declareRoutes, refusals } from '../openapi/registry';
import { healthSchema, readySchema } from '../response-schemas';

/** /healthz: the process answers. /readyz: the database answers, the schema is current, and we are not shutting down. */
export function health(database: Database, draining: { value: boolean }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (draining.value) {
      res.status(503).json(errorBody('shutting_down', 'this server is shutting down; use another'));
      return;
    }
    try {
      await database.knex.raw('SELECT 1');
      if (!(await migrationsCurrent(database.knex))) {
        res.status(503).json(errorBody('migrations_pending', 'the database schema is not current'));
        return;
      }
      res.json({ status: 'ready', engine: database.engine });
    } catch {
      res.setHeader('Retry-After', '5');
      res.status(503).json(errorBody('database_unavailable', 'the database is not reachable'));
    }
  });
  return router;
}

export const healthRoutes = declareRoutes([
  {
    method: 'get',
    path: '/healthz',
    tag: 'Operations',
    summary: 'The process answers (liveness)',
    responses: { 200: { description: 'Alive', schema: healthSchema } },
  },
  {
    method: 'get',
    path: '/readyz',
    tag: 'Operations',
    summary: 'Ready for traffic: database reachable, schema current, not shutting down',
    description: 'A load balancer takes a process out of rotation on 503; during shutdown this answers 503 shutting_down for LICENSOR_SHUTDOWN_GRACE_MS first.',
    responses: { 200: { description: 'Ready', schema: readySchema }, ...refusals(503) },
  },
]);
