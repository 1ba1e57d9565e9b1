import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import type { Logger } from '../logger';
import type { Runtime } from '../runtime';
import { errorResponder, notFoundResponder } from './error-response';
import { adminApi } from './routes/admin-api';
import { clientApi } from './routes/client-api';
import { health } from './routes/health';
import { wellKnown } from './routes/well-known';

export interface AppOptions {
  adminToken: string;
  logger: Logger;
}

/** Assembles the HTTP surfaces. Routes know Express; the domain knows the rules. */
export function createApp(runtime: Runtime, options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    next();
  });

  app.use(health(runtime.database));
  app.use(wellKnown(runtime.keyRing, runtime.ctx.clock));
  app.use(clientApi(runtime.ctx));
  app.use(adminApi(runtime, options.adminToken));

  app.use(notFoundResponder);
  app.use(errorResponder(options.logger));
  return app;
}
