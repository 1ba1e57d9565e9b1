import express, { type RequestHandler } from 'express';
import { LicensorError } from '../domain/errors';

/** JSON bodies only, small, objects or arrays at the top level. */
export const jsonBody = (limit = '64kb'): RequestHandler => express.json({ limit, strict: true, type: () => true });

/** A body-carrying request must say it is JSON; anything else gets 415 rather than a confusing 400. */
export const requireJsonContent: RequestHandler = (req, _res, next) => {
  if (req.method === 'GET' || req.method === 'HEAD' || (req.method === 'DELETE' && !req.headers['content-length'])) return next();
  if (!req.is('application/json')) {
    next(new LicensorError('unsupported_media', 'unsupported_media_type', 'send the body as application/json'));
    return;
  }
  next();
};

/** Both checks as one middleware, for routes that take a JSON body. */
export function jsonRequest(limit = '64kb'): RequestHandler {
  const parseBody = jsonBody(limit);
  return (req, res, next) => requireJsonContent(req, res, (err?: unknown) => (err ? next(err) : parseBody(req, res, next)));
}
