/**
 * For software written against the marketplace's authorization-code API: the "query authorization
 * code" / heartbeat call (docs/marketplace.md §2.2, §5), against the marketplace itself or a
 * licensor server, which has the same path and shapes
 * (docs/marketplace.md#the-license-open-api-for-your-software). A thin helper: one request, the
 * answer mapped to `valid` + a reason. It does no offline checking; a LicenseClient does that.
 */
import {
  answerSigningInput,
  NONCE_HEADER,
  newNonce,
  parseSignatureHeader,
  requestDigest,
  SIGNATURE_HEADER,
  verifyAnswerSignature,
} from './contract/answer-signature';
import { signSdkHmacSha256 } from './contract/apig-signing';
import { LicenseClientError } from './errors';
import { isObject } from './contract/is-object';
import { KeySet, type JwsAlgorithm, type PublicKeyInput } from './contract/key-set';
import type { Fetch } from './server-api';

const MARKETPLACE_HEARTBEAT_PATH = '/api/mkp-openapi-public/global/v1/license/heartbeat';

export type MarketplaceStatus = 'ALIVE' | 'EXPIRED' | 'RELEASED';

export interface MarketplaceHeartbeatOptions {
  /**
   * The API host, e.g. `https://mkt.myhuaweicloud.com` or a licensor server. Several are tried
   * in order while they cannot be reached (the protocol's `.com` → `.cn` fallback, §1).
   */
  baseUrl: string | string[];
  /** The authorization code. */
  license: string;
  /** Sunset usage report (§2.2); still accepted. */
  heartbeatInfo?: { thirdPartyAccount: string; ip?: string };
  /**
   * AK/SK: when given, the request is signed with SDK-HMAC-SHA256 (§1.1), a fresh `Licensor-Nonce`
   * header included, so that no two calls carry the same signature.
   */
  credentials?: { accessKey: string; secretKey: string };
  timeoutMs?: number;
  fetch?: Fetch;
  /** ms since the epoch, for the X-Sdk-Date header; default Date.now. */
  clock?: () => number;
  /**
   * A licensor server's public keys (its JWKS, or the keys pinned in a LicenseClient). When given,
   * each request carries a fresh nonce and an answer counts only when the server signed it, for
   * this very request, with one of these keys (docs/server.md "Signed answers"); any other answer
   * is `untrusted_answer`. For licensor servers only: the marketplace's own answers are unsigned.
   */
  publicKeys?: PublicKeyInput | PublicKeyInput[];
}

export type MarketplaceReason =
  | 'expired'
  | 'released'
  /** 92020005: the code does not exist. */
  | 'no_license'
  /** 92020001 with HTTP 403: the AK/SK signature was refused. */
  | 'unauthorized'
  /** 92020002: the request was refused as invalid. */
  | 'invalid_request'
  /** 92020004: the buyer has not received the code yet. */
  | 'not_received'
  /** Any other error code, or an answer that does not follow the protocol. */
  | 'server_error'
  /** With `publicKeys`: the answer is not signed for this request by one of them (a fake or altered answer, or a replay). */
  | 'untrusted_answer';

export interface MarketplaceHeartbeatResult {
  /** True only for a success answer with status ALIVE. */
  valid: boolean;
  status: MarketplaceStatus | null;
  reason: MarketplaceReason | null;
  expiresAt: Date | null;
  activatedAt: Date | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** The LicenseInfo object as sent: the protocol lets it grow new fields (§1). */
  data: Record<string, unknown> | null;
}

const ERROR_REASONS: Readonly<Record<string, MarketplaceReason>> = {
  '92020002': 'invalid_request',
  '92020004': 'not_received',
  '92020005': 'no_license',
};

/** `yyyyMMddHHmmss` (UTC, §2.1), an ISO string, or epoch ms; null when it is none of those. */
function parseTime(value: unknown): Date | null {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value);
  if (typeof value !== 'string') return null;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value.trim());
  const ms = m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms) : null;
}

/** Queries the status of an authorization code and maps ALIVE / EXPIRED / RELEASED. */
export async function marketplaceHeartbeat(options: MarketplaceHeartbeatOptions): Promise<MarketplaceHeartbeatResult> {
  const bases = Array.isArray(options.baseUrl) ? options.baseUrl : [options.baseUrl];
  if (bases.length === 0) throw new TypeError('licensor: marketplaceHeartbeat needs a baseUrl');
  if (typeof options.license !== 'string' || options.license === '') throw new TypeError('licensor: marketplaceHeartbeat needs the license code');
  const body = JSON.stringify({ license: options.license, ...(options.heartbeatInfo ? { heartbeatInfo: options.heartbeatInfo } : {}) });
  const keys = options.publicKeys === undefined ? null : new KeySet(options.publicKeys);
  if (keys !== null && keys.size === 0) throw new TypeError('licensor: marketplaceHeartbeat was given publicKeys with no key in them');
  let lastError: unknown;
  for (const base of bases) {
    const url = new URL(MARKETPLACE_HEARTBEAT_PATH, base);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    // A fresh nonce per request (and per host): the server's signed answer must carry it, and signed
    // with AK/SK it makes every call's signature new (licensor refuses a signature it saw before).
    const nonce = keys === null && !options.credentials ? null : newNonce();
    if (nonce !== null) headers[NONCE_HEADER] = nonce;
    if (options.credentials) {
      // fetch sets Host itself, to the same url.host that was signed.
      const { Host: _host, ...signature } = signSdkHmacSha256({ method: 'POST', url, headers, body, now: (options.clock ?? Date.now)() }, options.credentials);
      void _host;
      Object.assign(headers, signature);
    }
    let res: Response;
    let bytes: Buffer;
    try {
      res = await (options.fetch ?? fetch)(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(options.timeoutMs ?? 10_000), redirect: 'error' });
      bytes = Buffer.from(await res.arrayBuffer());
    } catch (cause) {
      lastError = cause;
      continue;
    }
    if (keys !== null && nonce !== null) {
      const trusted = signedForThisRequest(res, bytes, keys, {
        nonce,
        method: 'POST',
        target: MARKETPLACE_HEARTBEAT_PATH,
        requestDigest: requestDigest(Buffer.from(body, 'utf8')),
        status: res.status,
      });
      // Nothing of an answer that fails is believed; an unsigned server error (a proxy while the server is away) is one too.
      if (!trusted) return refused(res.status >= 500 && res.headers.get(SIGNATURE_HEADER) === null ? 'server_error' : 'untrusted_answer');
    }
    return interpret(res.status, bytes.toString('utf8'));
  }
  throw new LicenseClientError('server_unreachable', `no marketplace API host answered (${bases.join(', ')})`, { cause: lastError });
}

/** Both algorithms: a pinned key decides which one its signatures use (verifySignature, key-set.ts). */
const ALGORITHMS: ReadonlySet<JwsAlgorithm> = new Set(['EdDSA', 'ES256']);

/** True when the answer carries a body signature, over this request and these bytes, by one of the keys. */
function signedForThisRequest(res: Response, bytes: Buffer, keys: KeySet, request: Parameters<typeof answerSigningInput>[0]): boolean {
  const header = parseSignatureHeader(res.headers.get(SIGNATURE_HEADER));
  return header !== null && verifyAnswerSignature(header, answerSigningInput(request, bytes), keys, ALGORITHMS) === null;
}

function refused(reason: MarketplaceReason): MarketplaceHeartbeatResult {
  return { valid: false, status: null, reason, expiresAt: null, activatedAt: null, errorCode: null, errorMessage: null, data: null };
}

function interpret(httpStatus: number, text: string): MarketplaceHeartbeatResult {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = undefined;
  }
  const errorCode = isObject(answer) && typeof answer.error_code === 'string' ? answer.error_code : null;
  const errorMessage = isObject(answer) && typeof answer.error_msg === 'string' ? answer.error_msg : null;
  const data = isObject(answer) && isObject(answer.data) ? answer.data : null;
  const base = { errorCode, errorMessage, data, expiresAt: null, activatedAt: null, status: null };
  if (errorCode !== '92020000' || httpStatus !== 200) {
    const reason: MarketplaceReason =
      errorCode === '92020001' && httpStatus === 403 ? 'unauthorized' : ((errorCode === null ? undefined : ERROR_REASONS[errorCode]) ?? 'server_error');
    return { ...base, valid: false, reason };
  }
  const status = data?.status;
  if (status !== 'ALIVE' && status !== 'EXPIRED' && status !== 'RELEASED') return { ...base, valid: false, reason: 'server_error' };
  return {
    ...base,
    valid: status === 'ALIVE',
    status,
    reason: status === 'ALIVE' ? null : status === 'EXPIRED' ? 'expired' : 'released',
    expiresAt: parseTime(data!.expire_time),
    activatedAt: parseTime(data!.activate_time),
  };
}
