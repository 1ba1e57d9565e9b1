import { Router } from 'express';
import type { Database } from '../../storage/database';
import { migrationsCurrent } from '../../storage/migrate';
import { errorBody } from '../error-response';

/** /healthz: the process answers. /readyz: the database answers and the schema is current. */
export function health(database: Database): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
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
