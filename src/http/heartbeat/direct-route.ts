import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Express, Request, RequestHandler, Response } from 'express';

type AppHandle = (req: IncomingMessage, res: ServerResponse, callback?: (err?: unknown) => void) => void;

/**
 * Mounts `handlers` as the app's route for `method` and `path`, and answers a request for exactly
 * that method and path by running them in turn itself, without walking Express's router.
 *
 * Why: the router's walk and its per-request final handler and closures were a measured share of
 * the main thread's work on a heartbeat, and the main thread is what runs out
 * (docs/performance.md#heartbeat). Everything else, including this path spelt another way (a query
 * string, a trailing slash, other letter case), goes through the router, where the same route
 * answers it. The request becomes an Express request and response exactly as `app.handle`
 * makes them, and errors reach the same responder as the router's.
 */
export function routeDirectly(app: Express, method: 'POST', path: string, handlers: RequestHandler[], onError: ErrorRequestHandler): void {
  const route = app.route(path).post(...handlers);
  const viaRouter = (app as unknown as { handle: AppHandle }).handle;

  function answer(incoming: IncomingMessage, outgoing: ServerResponse): void {
    const req = incoming as Request;
    const res = outgoing as Response;
    // What `app.handle` and the router set up for every request.
    req.res = res;
    res.req = req;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    res.locals ??= Object.create(null) as Response['locals'];
    req.originalUrl = req.url;
    req.baseUrl = '';
    req.params = {};
    req.route = route;

    let index = 0;
    const fail = (err: unknown): void => {
      // Nothing can be said once the answer has begun: Express's final handler closes the connection too.
      if (res.headersSent) {
        req.socket.destroy();
        return;
      }
      onError(err, req, res, () => undefined);
    };
    const next = (err?: unknown): void => {
      if (err !== undefined && err !== null) return fail(err);
      const handler = handlers[index++];
      if (handler === undefined) return fail(new Error(`${method} ${path} ended without an answer`));
      try {
        const result: unknown = handler(req, res, next);
        if (result instanceof Promise) result.then(undefined, (rejected: unknown) => next(rejected ?? new Error('Rejected promise')));
      } catch (thrown) {
        next(thrown);
      }
    };
    next();
  }

  (app as unknown as { handle: AppHandle }).handle = function handle(req, res, callback) {
    if (req.method === method && req.url === path) answer(req, res);
    else viaRouter.call(this, req, res, callback);
  };
}
