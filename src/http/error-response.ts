import type { ErrorRequestHandler, RequestHandler } from 'express';
import { LicensorError, type ErrorKind } from '../domain/errors';
import type { Logger } from '../logger';

const STATUS: Record<ErrorKind, number> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unsupported_media: 415,
  unavailable: 503,
};

/** body-parser failures are bad input too, with their own stable codes. */
const BODY_ERRORS: Record<string, [number, string, string]> = {
  'entity.parse.failed': [400, 'invalid_json', 'the body is not valid JSON'],
  'entity.too.large': [413, 'payload_too_large', 'the body is larger than this route accepts'],
  'encoding.unsupported': [415, 'unsupported_encoding', 'the content encoding is not supported'],
  'charset.unsupported': [415, 'unsupported_charset', 'the charset is not supported; send UTF-8'],
  'request.aborted': [400, 'request_aborted', 'the request was aborted'],
  'request.size.invalid': [400, 'invalid_request_size', 'the body length does not match Content-Length'],
  'stream.encoding.set': [500, 'internal_error', 'internal error'],
};

interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function errorBody(code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  return { error: details ? { code, message, details } : { code, message } };
}

/** The body of every 500: nothing of the cause reaches the client; the request id leads to it in the log. */
export const INTERNAL_ERROR_BODY = errorBody('internal_error', 'internal error; the request id is in the X-Request-Id header');

/** The one place errors become HTTP answers. Nothing bad input does reaches a 5xx; a stack never reaches a client. */
export function errorResponder(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    void _next;
    if (err instanceof LicensorError) {
      res.locals.errorCode = err.code;
      const status = STATUS[err.kind];
      if (status === 503) res.setHeader('Retry-After', '5');
      if (status === 429) res.setHeader('Retry-After', String(err.details?.retryAfterSeconds ?? 60));
      res.status(status).json(errorBody(err.code, err.message, err.details));
      return;
    }
    const bodyError = typeof err?.type === 'string' ? BODY_ERRORS[err.type] : undefined;
    if (bodyError && bodyError[0] < 500) {
      res.locals.errorCode = bodyError[1];
      res.status(bodyError[0]).json(errorBody(bodyError[1], bodyError[2]));
      return;
    }
    // Express and body-parser mark other client faults with a 4xx status: a path that is not valid
    // percent-encoding (URIError), a body that does not inflate as its Content-Encoding says.
    const status = typeof err?.status === 'number' ? err.status : undefined;
    if (status !== undefined && status >= 400 && status < 500) {
      const [code, message] =
        err instanceof URIError
          ? ['malformed_path', 'the path is not valid percent-encoded UTF-8']
          : typeof err.code === 'string' && /^(Z_|ERR__)/.test(err.code)
            ? ['invalid_content_encoding', 'the body could not be decoded as its Content-Encoding says']
            : ['bad_request', 'the request is malformed'];
      res.locals.errorCode = code;
      res.status(status).json(errorBody(code, message));
      return;
    }
    // The route pattern, not the path: an admin path may hold an authorization code.
    res.locals.errorCode = 'internal_error';
    logger.error({ err, method: req.method, route: req.route?.path, requestId: res.locals.requestId }, 'unhandled error');
    res.status(500).json(INTERNAL_ERROR_BODY);
  };
}

export const notFoundResponder: RequestHandler = (req, res) => {
  res.locals.errorCode = 'route_not_found';
  res.status(404).json(errorBody('route_not_found', `no route for ${req.method} ${req.path}`));
};
