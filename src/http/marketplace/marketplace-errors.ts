import { LicensorError } from '../../domain/errors';
import type { ProductionAnswer } from '../../domain/marketplace/production-requests';
import { OPEN_API_CODES, RESULT_CODES, RESULT_FOR_ERROR_CODE, type ResultCode } from '../../domain/marketplace/result-codes';
import type { Logger } from '../../logger';

/**
 * The marketplace routes' error mapper (the other routes use error-response.ts): errors become
 * production-interface `resultCode`s (§3.5, §3.6) or open-API `error_code`s (§2.6). A stack never
 * reaches the marketplace; unexpected errors are logged with the request id.
 */

/** Body-parser failures (too large, bad encoding) are the request's fault. */
function isBodyError(err: unknown): boolean {
  const e = err as { type?: unknown; status?: unknown };
  return typeof e?.type === 'string' && typeof e.status === 'number' && e.status >= 400 && e.status < 500;
}

function productionCode(err: LicensorError): ResultCode {
  const specific = RESULT_FOR_ERROR_CODE[err.code];
  if (specific) return specific;
  switch (err.kind) {
    case 'unauthorized':
      return RESULT_CODES.authenticationFailed;
    case 'invalid_input':
    case 'conflict':
    case 'unsupported_media':
      return RESULT_CODES.invalidParameter;
    case 'not_found':
      return RESULT_CODES.notFound;
    default:
      return RESULT_CODES.internalError;
  }
}

export function productionFailure(err: unknown, logger: Logger, requestId: string): ProductionAnswer {
  if (err instanceof LicensorError) return { resultCode: productionCode(err), resultMsg: `${err.code}: ${err.message}` };
  if (isBodyError(err)) return { resultCode: RESULT_CODES.invalidParameter, resultMsg: 'invalid_request: the body could not be read' };
  logger.error({ err, requestId }, 'production interface failed');
  return { resultCode: RESULT_CODES.internalError, resultMsg: `internal error; request id ${requestId}` };
}

interface OpenApiFailure {
  status: number;
  body: { error_code: string; error_msg: string };
}

/** The open API's "code not found" (§2.6): HTTP 200, and in each entry of a batch or usage report that names an unknown code. */
const OPEN_API_CODE_NOT_FOUND = { error_code: OPEN_API_CODES.codeNotFound, error_msg: 'license code not exist.' } as const;

/** The answer to a refusal of a kind the open API knows; undefined for the others (an unexpected error). */
export function openApiRefusal(err: LicensorError): OpenApiFailure | undefined {
  switch (err.kind) {
    case 'unauthorized':
      return { status: 403, body: { error_code: OPEN_API_CODES.unauthorizedOrInternal, error_msg: `Unauthorized: ${err.message}` } };
    case 'rate_limited':
      // The marketplace's own gateway answers throttling with 429 and APIG.0308; so do we.
      return { status: 429, body: { error_code: 'APIG.0308', error_msg: `The throttling threshold has been reached: ${err.message}` } };
    case 'not_found':
      return { status: 200, body: { ...OPEN_API_CODE_NOT_FOUND } };
    case 'invalid_input':
    case 'conflict':
    case 'unsupported_media':
      return { status: 400, body: { error_code: OPEN_API_CODES.invalidParameter, error_msg: `invalid param: ${err.message}` } };
    case 'unavailable':
      return { status: 500, body: { error_code: OPEN_API_CODES.unauthorizedOrInternal, error_msg: 'internal error' } };
    default:
      return undefined;
  }
}

export function openApiFailure(err: unknown, logger: Logger, requestId: string): OpenApiFailure {
  const refusal = err instanceof LicensorError ? openApiRefusal(err) : undefined;
  if (refusal) return refusal;
  if (isBodyError(err)) return { status: 400, body: { error_code: OPEN_API_CODES.invalidParameter, error_msg: 'invalid param: the body could not be read' } };
  logger.error({ err, requestId }, 'marketplace open API failed');
  return { status: 500, body: { error_code: OPEN_API_CODES.unauthorizedOrInternal, error_msg: 'internal error' } };
}
