import { createHash, createHmac, randomBytes } from 'node:crypto';
import { formatSdkDate, signApigRequest } from '@licensor/client/contract';
import type { Clock } from '../domain/clock';
import { parseMarketplaceTime } from '../domain/marketplace/dates';
import type { MarketplaceApi, OrderLine, UsageRecord } from '../domain/marketplace/marketplace-api';
import { DeliveryFailed } from '../domain/outbox';

/**
 * licensor's calls to the marketplace's open API (docs/marketplace.md "licensor calls the
 * marketplace"): every one signed SDK-HMAC-SHA256 with the seller's AK/SK (the signer the open API
 * verifies with), sent to each base URL in turn while one cannot be reached (the `.com` host, then
 * `.cn`), and its answer read in the marketplace's own codes. Answers that refuse what was sent are
 * permanent failures; the rest (unreachable, throttled, internal errors, refused credentials,
 * which an operator can fix) are retried by the outbox.
 */

interface MarketplaceClientSettings {
  /** Base URLs, tried in order while one cannot be reached. */
  apiUrls: readonly string[];
  credentials: { accessKey: string; secretKey: string };
  /** The seller's access key (LICENSOR_MARKETPLACE_KEYS), which also signs a usage push's body. */
  sellerKey: string | null;
  timeoutMs: number;
}

const API = '/api/mkp-openapi-public/global/v1';

/** Codes that refuse the request itself: sending it again cannot succeed. */
const REFUSALS = new Set([
  'MKT.0100',
  'MKT.0101',
  'MKT.0199',
  'MKT.9001',
  'MKT.9002',
  'MKT.9003',
  'MKT.9004',
  'CBC.0101',
  '91381033',
  '91381034',
  '91381035',
  '91381037',
  '91381038',
]);

/** HTTP statuses of a host that cannot serve now: the next base URL is tried. */
const UNREACHABLE_STATUSES = new Set([502, 503, 504]);

interface Answer {
  status: number;
  body: Record<string, unknown> | null;
  text: string;
}

export function marketplaceClient(settings: MarketplaceClientSettings, clock: Clock): MarketplaceApi {
  async function call(
    method: 'GET' | 'POST',
    path: string,
    query: URLSearchParams | null,
    body: Buffer,
    contentType: string,
    extra: Record<string, string> = {},
  ): Promise<Answer> {
    const failures: string[] = [];
    for (const base of settings.apiUrls) {
      const url = new URL(`${base}${API}${path}${query ? `?${query}` : ''}`);
      const signed = { host: url.host, 'content-type': contentType };
      const signature = signApigRequest(
        { method, path: url.pathname, query: url.search.replace(/^\?/, ''), body, headers: signed },
        settings.credentials,
        clock.now(),
      );
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: { 'content-type': contentType, ...signature, ...extra },
          body: method === 'GET' ? undefined : body,
          signal: AbortSignal.timeout(settings.timeoutMs),
          redirect: 'error',
        });
      } catch (err) {
        failures.push(`${url.origin}: ${describe(err)}`);
        continue;
      }
      const text = await res.text().catch(() => '');
      if (UNREACHABLE_STATUSES.has(res.status)) {
        failures.push(`${url.origin}: HTTP ${res.status}`);
        continue;
      }
      return { status: res.status, body: parseObject(text), text };
    }
    throw new DeliveryFailed(`the marketplace could not be reached: ${failures.join('; ')}`);
  }

  /** Success, or the failure the answer's code means. */
  function expect(answer: Answer, codeField: 'resultCode' | 'error_code', success: string, what: string): Record<string, unknown> {
    const code = answer.body?.[codeField];
    if (answer.status === 200 && code === success) return answer.body!;
    const message = answer.body?.[codeField === 'resultCode' ? 'resultMsg' : 'error_msg'];
    const detail = typeof code === 'string' ? `${code}${typeof message === 'string' ? ` ${message}` : ''}` : answer.text.slice(0, 200) || '(no body)';
    throw new DeliveryFailed(`${what}: HTTP ${answer.status}, ${detail}`, typeof code === 'string' && REFUSALS.has(code));
  }

  return {
    async queryOrder(orderId, orderLineId) {
      const answer = await call('GET', '/order/query', new URLSearchParams({ orderId, orderLineId }), Buffer.alloc(0), 'application/json');
      const body = expect(answer, 'resultCode', 'MKT.0000', 'order/query');
      return orderLineOf(body, orderId, orderLineId);
    },

    async uploadLicense(eventId, license) {
      const { body, contentType } = uploadBody(license);
      const answer = await call('POST', `/market-event/${encodeURIComponent(eventId)}/file`, null, body, contentType);
      expect(answer, 'error_code', 'CBC.0000', 'license upload');
    },

    async pushUsage(records) {
      if (settings.sellerKey === null) throw new DeliveryFailed('a usage push is signed with the seller key: set LICENSOR_MARKETPLACE_KEYS');
      const body = usageBody(records);
      const ts = String(clock.now());
      const nonce = randomBytes(16).toString('hex');
      const answer = await call('POST', '/isv/usage-data', null, body, 'application/json', {
        signature: usageSignature(settings.sellerKey, ts, nonce, body),
        ts,
        nonce,
      });
      expect(answer, 'error_code', 'MKT.0000', 'usage push');
    },
  };
}

/** The order line asked for in an order/query answer; the one line of a one-line order otherwise. */
function orderLineOf(body: Record<string, unknown>, orderId: string, orderLineId: string): OrderLine {
  const info = asObject(body.orderInfo);
  const lines = Array.isArray(info?.orderLine) ? info.orderLine.map(asObject).filter((l): l is Record<string, unknown> => l !== null) : [];
  const line = lines.find((l) => l.orderLineId === orderLineId) ?? (lines.length === 1 ? lines[0] : undefined);
  if (!info || !line) throw new DeliveryFailed(`order/query: the answer holds no order line ${orderLineId}`, true);
  const products = Array.isArray(line.productInfo) ? line.productInfo.map(asObject) : [];
  const quantity = products.map((p) => wholeNumber(p?.linearValue)).find((n) => n !== null) ?? null;
  return {
    orderId: typeof info.orderId === 'string' ? info.orderId : orderId,
    orderType: text(info.orderType),
    orderLineId,
    chargingMode: text(line.chargingMode),
    periodType: text(line.periodType),
    periodNumber: wholeNumber(line.periodNumber),
    expireTime: typeof line.expireTime === 'string' ? parseMarketplaceTime(line.expireTime) : null,
    quantity: quantity !== null && quantity >= 1 ? quantity : null,
  };
}

/** Up to 1024 characters the license goes as CHARACTERS, longer as a FILE with its SHA-256. */
const MAX_UPLOAD_CHARACTERS = 1024;

/** The multipart body of an upload: the `isvUpdateFileReq` JSON part, and the `file` part for a FILE. */
function uploadBody(license: string): { body: Buffer; contentType: string } {
  const boundary = `licensor-${randomBytes(12).toString('hex')}`;
  const parts: Buffer[] = [];
  const part = (headers: string, content: Buffer) =>
    parts.push(Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`, 'utf8'), content, Buffer.from('\r\n', 'utf8'));
  const bytes = Buffer.from(license, 'utf8');
  if (license.length <= MAX_UPLOAD_CHARACTERS) {
    part(
      'Content-Disposition: form-data; name="isvUpdateFileReq"\r\nContent-Type: application/json',
      Buffer.from(JSON.stringify({ type: 'CHARACTERS', characters: license }), 'utf8'),
    );
  } else {
    const fileName = 'license.txt';
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    part(`Content-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: application/octet-stream`, bytes);
    part(
      'Content-Disposition: form-data; name="isvUpdateFileReq"\r\nContent-Type: application/json',
      Buffer.from(JSON.stringify({ type: 'FILE', file_name: fileName, sha256 }), 'utf8'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`, 'utf8'));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** `{"usage_records":[…]}` with every object's keys in sorted order, as the push signs it ("body sorted naturally"). */
function usageBody(records: UsageRecord[]): Buffer {
  const usageRecords = records.map((r) => ({
    begin_time: formatSdkDate(r.beginTime),
    end_time: formatSdkDate(r.endTime),
    instance_id: r.instanceId,
    metering_sn: r.meteringSn,
    record_time: formatSdkDate(r.recordTime),
    usage_value: String(Math.round(r.usageValue * 10_000) / 10_000),
  }));
  return Buffer.from(JSON.stringify({ usage_records: usageRecords }), 'utf8');
}

/** The usage push's own `signature` header: base64(HMAC-SHA256(seller key, `ts=…&nonce=…&body=…`)). */
function usageSignature(sellerKey: string, ts: string, nonce: string, body: Buffer): string {
  return createHmac('sha256', sellerKey).update(`ts=${ts}&nonce=${nonce}&body=`).update(body).digest('base64');
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'no answer in time';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    return asObject(JSON.parse(text));
  } catch {
    return null;
  }
}

function asObject(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function wholeNumber(value: unknown): number | null {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : null;
}
