import { Router } from 'express';
import type { Database } from '../../storage/database';
import { migrationsCurrent } from '../../storage/migrate';
import { errorBody } from '../error-response';

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
