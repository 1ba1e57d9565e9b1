import { createHash, createHmac } from 'node:crypto';

/**
 * Huawei API-Gateway `SDK-HMAC-SHA256` request signing
 * (docs/marketplace.md#11-aksk-request-signing-sdk-hmac-sha256), the scheme software uses to sign
 * its calls to the marketplace's open API. One implementation: the
 * client signs with it, the server verifies with it (src/domain/marketplace/apig-verification.ts).
 */

const APIG_ALGORITHM = 'SDK-HMAC-SHA256';
/** §1.1: the gateway refuses an X-Sdk-Date more than 15 minutes from its clock. */
export const SDK_DATE_WINDOW_MS = 15 * 60_000;

export interface ApigRequest {
  method: string;
  /** The path as sent on the wire (percent-encoded), without the query. */
  path: string;
  /** The raw query string, without `?`. */
  query: string;
  /** Header values by lower-case name. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** RFC 3986: unreserved characters stay, everything else is %XX (upper-case hex). */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Each segment decoded and re-encoded; for signing the URI always ends with `/` (§1.1). */
function canonicalUri(path: string): string {
  const uri = path
    .split('/')
    .map((segment) => encode(decode(segment)))
    .join('/');
  return uri.endsWith('/') ? uri : `${uri}/`;
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs = query
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      const [name, value] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
      return [encode(decode(name)), encode(decode(value))] as const;
    });
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

export function headerValue(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value.join(',') : (value ?? '')).trim();
}

/**
 * True when the request asks for its body to be left out of the signature (`X-Sdk-Content-Sha256:
 * UNSIGNED-PAYLOAD`, which the APIG scheme allows): anyone could then change the body of a signed request.
 */
export function isUnsignedPayload(headers: ApigRequest['headers']): boolean {
  return headerValue(headers['x-sdk-content-sha256']) === UNSIGNED_PAYLOAD;
}

const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** §1.1 step 1. `signedHeaders` are lower-case names. */
export function canonicalRequest(request: ApigRequest, signedHeaders: readonly string[]): string {
  const names = [...signedHeaders].map((h) => h.toLowerCase()).sort();
  const bodyHash = isUnsignedPayload(request.headers) ? UNSIGNED_PAYLOAD : createHash('sha256').update(request.body).digest('hex');
  return [
    request.method.toUpperCase(),
    canonicalUri(request.path),
    canonicalQuery(request.query),
    names.map((name) => `${name}:${headerValue(request.headers[name])}\n`).join(''),
    names.join(';'),
    bodyHash,
  ].join('\n');
}

/** §1.1 steps 2–3: hex(HMAC-SHA256(SK, "SDK-HMAC-SHA256\n" + X-Sdk-Date + "\n" + hex(SHA256(canonical request)))). */
export function apigSignature(request: ApigRequest, signedHeaders: readonly string[], secretKey: string, sdkDate: string): string {
  const hashed = createHash('sha256').update(canonicalRequest(request, signedHeaders)).digest('hex');
  return createHmac('sha256', secretKey).update(`${APIG_ALGORITHM}\n${sdkDate}\n${hashed}`).digest('hex');
}

/** `yyyyMMdd'T'HHmmss'Z'` (UTC). */
export function formatSdkDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** The instant an `X-Sdk-Date` names, or null when it is not one. */
export function parseSdkDate(text: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return null;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return formatSdkDate(t) === text ? t : null;
}

/**
 * Signs a request: returns the headers to send (X-Sdk-Date, Authorization) in addition to the
 * given ones. `headers` must already hold everything that is signed (host, content-type, …).
 */
export function signApigRequest(
  request: Omit<ApigRequest, 'headers'> & { headers: Record<string, string> },
  credentials: { accessKey: string; secretKey: string },
  now: number,
): Record<string, string> {
  const sdkDate = formatSdkDate(now);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  headers['x-sdk-date'] = sdkDate;
  const signed = Object.keys(headers).sort();
  const signature = apigSignature({ ...request, headers }, signed, credentials.secretKey, sdkDate);
  return {
    'X-Sdk-Date': sdkDate,
    Authorization: `${APIG_ALGORITHM} Access=${credentials.accessKey}, SignedHeaders=${signed.join(';')}, Signature=${signature}`,
  };
}

export interface SignableRequest {
  method: string;
  url: URL;
  /** Headers to sign besides Host and X-Sdk-Date (which this adds). */
  headers: Record<string, string>;
  body: string;
  now: number;
}

/**
 * The headers that sign a request (`X-Sdk-Date`, `Host`, `Authorization`), with the one
 * SDK-HMAC-SHA256 implementation the server verifies with. Every header in `request.headers`
 * is signed, plus Host.
 */
export function signSdkHmacSha256(request: SignableRequest, credentials: { accessKey: string; secretKey: string }): Record<string, string> {
  const headers: Record<string, string> = { host: request.url.host };
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value.trim();
  const signed = signApigRequest(
    { method: request.method, path: request.url.pathname, query: request.url.search.replace(/^\?/, ''), body: Buffer.from(request.body, 'utf8'), headers },
    credentials,
    request.now,
  );
  return { ...signed, Host: request.url.host };
}
