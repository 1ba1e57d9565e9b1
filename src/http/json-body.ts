import express, { type RequestHandler } from 'express';
import { InvalidInput, LicensorError } from '../domain/errors';

/**
 * JSON bodies only, small, objects or arrays at the top level. `keepRaw` keeps the body's bytes in
 * `res.locals.rawBody` (signed answers cover a digest of the request they answer; answer-signing.ts).
 */
const jsonBody = (limit: string | number = '64kb', keepRaw = false): RequestHandler =>
  express.json({ limit, strict: true, type: () => true, ...(keepRaw ? { verify: keepRawBody } : {}) });

/** body-parser's `verify` hook: the bytes as received (decoded from their Content-Encoding), before parsing. */
function keepRawBody(_req: unknown, res: object, buf: Buffer): void {
  (res as { locals: Record<string, unknown> }).locals.rawBody = buf;
}

/** True when the request carries no body at all (e.g. `POST …/freeze` with `Content-Length: 0`). */
export function hasNoBody(req: Parameters<RequestHandler>[0]): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
}

/** A body-carrying request must say it is JSON; anything else gets 415 rather than a confusing 400. */
const requireJsonContent: RequestHandler = (req, _res, next) => {
  // Action routes (freeze, release, rotate) take no body; an empty one needs no content type.
  if (req.method === 'GET' || req.method === 'HEAD' || hasNoBody(req)) return next();
  if (!req.is('application/json')) {
    next(new LicensorError('unsupported_media', 'unsupported_media_type', 'send the body as application/json'));
    return;
  }
  next();
};

/**
 * Both checks as one middleware, for routes that take a JSON body. With `keepRaw`, a body that is
 * not JSON is still read (up to the limit) before the 415, so the signed refusal covers the digest
 * of what was received (answer-signing.ts).
 */
export function jsonRequest(limit: string | number = '64kb', keepRaw = false): RequestHandler {
  const parseBody = jsonBody(limit, keepRaw);
  const readBody = keepRaw ? express.raw({ limit, type: () => true, verify: keepRawBody }) : undefined;
  return (req, res, next) =>
    requireJsonContent(req, res, (err?: unknown) => {
      if (!err) return parseBody(req, res, next);
      if (!readBody) return next(err);
      readBody(req, res, (readError?: unknown) => next(readError ?? err));
    });
}

/** Parses a body read as raw bytes (the marketplace routes verify a signature over them first). */
export function parseJsonBuffer(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new InvalidInput('invalid_json', 'the body is not JSON');
  }
}
