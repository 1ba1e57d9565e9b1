import { IncomingMessage, ServerResponse } from 'node:http';
import type { Express } from 'express';

/**
 * The request and response classes for node:http's server that make each request and response
 * an Express one from birth: their prototypes become the app's own `request` and `response`, so
 * `app.handle`'s `Object.setPrototypeOf` on every request finds nothing to change.
 *
 * Why: changing an object's prototype after it is built throws away what the engine knows about
 * its shape, and node's HTTP internals meet these objects on every step of a request: the
 * "classes" baseline of docs/performance.md#heartbeat measures what it costs a bare route (a
 * known cost: expressjs/express#5998).
 *
 * Classes, not constructor functions given the app's objects as prototypes: the engine sizes a
 * new object by its constructor, and a function that only calls node's left its objects room for
 * a few properties; a response, which node gives some thirty, then went over to the slow
 * dictionary kind of object, every property read and write a lookup (test/message-classes.test.ts).
 * A class extending node's is sized for node's properties.
 */
export function expressMessageClasses(app: Express): { IncomingMessage: typeof IncomingMessage; ServerResponse: typeof ServerResponse } {
  class ExpressRequest extends IncomingMessage {}
  class ExpressResponse extends ServerResponse {}
  becomeAppPrototype(app, 'request', ExpressRequest.prototype);
  becomeAppPrototype(app, 'response', ExpressResponse.prototype);
  return { IncomingMessage: ExpressRequest, ServerResponse: ExpressResponse as unknown as typeof ServerResponse };
}

/**
 * `prototype` takes the place of the app's own `request` (or `response`): it inherits what that
 * inherited (Express's methods, then node's) and has what it had (`app`), and the app hands it out
 * from now on. Once, at start: no object built yet has either.
 */
function becomeAppPrototype(app: Express, key: 'request' | 'response', prototype: object): void {
  const own = app[key] as object;
  Object.setPrototypeOf(prototype, Object.getPrototypeOf(own));
  Object.defineProperties(prototype, Object.getOwnPropertyDescriptors(own));
  (app as unknown as Record<typeof key, object>)[key] = prototype;
}
