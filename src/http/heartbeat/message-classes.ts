import { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Express } from 'express';

/**
 * The request and response classes for node:http's server that make each request and response
 * an Express one from birth: instances of these have the app's own `request` and `response` as
 * their prototypes, so `app.handle`'s `Object.setPrototypeOf` on every request finds nothing to
 * change.
 *
 * Why: changing an object's prototype after it is built throws away what the engine knows about
 * its shape, and node's HTTP internals meet these objects on every step of a request: the
 * "classes" baseline of docs/performance.md#heartbeat measures what it costs a bare route (a
 * known cost: expressjs/express#5998).
 */
export function expressMessageClasses(app: Express): { IncomingMessage: typeof IncomingMessage; ServerResponse: typeof ServerResponse } {
  // Constructor functions, not classes: a class's prototype cannot be replaced by the app's objects.
  function ExpressRequest(this: IncomingMessage, socket: Socket) {
    IncomingMessage.call(this, socket);
  }
  ExpressRequest.prototype = app.request;
  function ExpressResponse(this: ServerResponse, req: IncomingMessage, options?: unknown) {
    (ServerResponse as unknown as (this: ServerResponse, req: IncomingMessage, options?: unknown) => void).call(this, req, options);
  }
  ExpressResponse.prototype = app.response;
  return {
    IncomingMessage: ExpressRequest as unknown as typeof IncomingMessage,
    ServerResponse: ExpressResponse as unknown as typeof ServerResponse,
  };
}
