import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
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
 * of what was received (answer-signing.ts). A plain body (plainJsonLength) is read here; any other
 * goes to body-parser, which decodes, inflates and refuses as before.
 */
export function jsonRequest(limit: string | number = '64kb', keepRaw = false): RequestHandler {
  const parseBody = jsonBody(limit, keepRaw);
  const readBody = keepRaw ? express.raw({ limit, type: () => true, verify: keepRawBody }) : undefined;
  const limitBytes = typeof limit === 'number' ? limit : null;
  return (req, res, next) => {
    const length = limitBytes === null ? null : plainJsonLength(req, limitBytes);
    if (length !== null) return readPlainJson(req, res, length, keepRaw, next);
    requireJsonContent(req, res, (err?: unknown) => {
      if (!err) return parseBody(req, res, next);
      if (!readBody) return next(err);
      readBody(req, res, (readError?: unknown) => next(readError ?? err));
    });
  };
}

const PLAIN_JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/**
 * The declared length of a body that needs nothing from body-parser: `application/json` in UTF-8,
 * no Content-Encoding, a Content-Length within the limit; null for any other. Every client sends
 * this, and body-parser's layers (type and charset parsing, decoding streams) were a share of the
 * heartbeat's own work worth removing (docs/performance.md#heartbeat).
 */
function plainJsonLength(req: Request, limitBytes: number): number | null {
  const { headers } = req;
  if (headers['transfer-encoding'] !== undefined) return null;
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return null;
  const type = headers['content-type'];
  if (type === undefined || !PLAIN_JSON_TYPE.test(type)) return null;
  const declared = headers['content-length'];
  if (declared === undefined || !/^[0-9]{1,9}$/.test(declared)) return null;
  const length = Number(declared);
  return length > 0 && length <= limitBytes ? length : null;
}

/** body-parser's error for the same fault: the error responder maps its `type` (error-response.ts). */
function bodyError(type: string, message: string): Error {
  return Object.assign(new Error(message), { type, status: 400, expose: true });
}

/** Reads and parses a plain body exactly as body-parser's strict JSON parser would, without its layers. */
function readPlainJson(req: Request, res: Response, length: number, keepRaw: boolean, next: NextFunction): void {
  const body = Buffer.allocUnsafe(length);
  let received = 0;
  let settled = false;
  const settle = (err?: Error) => {
    if (settled) return;
    settled = true;
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onAbort);
    req.off('close', onAbort);
    next(err);
  };
  const onData = (chunk: Buffer) => {
    // The HTTP parser delivers no more than Content-Length; should it, the length is wrong.
    if (received + chunk.length > length) return settle(bodyError('request.size.invalid', 'request size did not match content length'));
    chunk.copy(body, received);
    received += chunk.length;
  };
  const onAbort = () => settle(bodyError('request.aborted', 'request aborted'));
  const onEnd = () => {
    if (received !== length) return settle(bodyError('request.size.invalid', 'request size did not match content length'));
    (req as { _body?: boolean })._body = true;
    if (keepRaw) res.locals.rawBody = body;
    // As body-parser: UTF-8 with its byte-order mark dropped, and only an object or array at the top.
    let text = body.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    // JSON's whitespace: space, tab, line feed, carriage return.
    const first = /[^ \t\n\r]/.exec(text)?.[0];
    if (first !== '{' && first !== '[') return settle(bodyError('entity.parse.failed', 'the body is not a JSON object or array'));
    try {
      req.body = JSON.parse(text) as unknown;
    } catch {
      return settle(bodyError('entity.parse.failed', 'the body is not valid JSON'));
    }
    settle();
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onAbort);
  req.on('close', onAbort);
}

/** Parses a body read as raw bytes (the marketplace routes verify a signature over them first). */
export function parseJsonBuffer(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new InvalidInput('invalid_json', 'the body is not JSON');
  }
}
