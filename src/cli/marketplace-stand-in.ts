import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyApigRequest } from '../domain/marketplace/apig-verification';

/**
 * The marketplace's side of the calls licensor makes (docs/marketplace.md "licensor calls the
 * marketplace"), on loopback: order/query answers the orders it was given, the license upload and
 * the usage push record what arrived. Every call must carry a good SDK-HMAC-SHA256 signature of
 * the seller's AK/SK (a bad one is refused as the API gateway does, and counted); a usage push must
 * also carry its own body signature over a body with sorted keys. `licensor simulate` serves it to
 * check a deployment's outbound calls; the tests run it as the marketplace.
 */

export interface StandInOrderLine {
  orderLineId: string;
  chargingMode: 'ON_DEMAND' | 'ONE_TIME' | 'PERIOD' | 'ON_DEMAND_PKG';
  periodType?: 'year' | 'month';
  periodNumber?: number;
  /** yyyyMMddHHmmss, UTC. */
  expireTime?: string;
  /** productInfo[0].linearValue: the quantity. */
  linearValue?: number;
}

interface StandInOrder {
  orderId: string;
  orderType: 'NEW' | 'TRIAL' | 'TRIAL_TO_FORMAL' | 'UNSUBSCRIBE' | 'RENEW' | 'CHANGE';
  orderLine: StandInOrderLine[];
}

interface ReceivedUpload {
  eventId: string;
  type: string;
  /** The license as received: `characters`, or the file's text. */
  license: string | null;
  fileName: string | null;
  /** For a FILE: whether `sha256` is the file's. */
  sha256Matches: boolean | null;
  at: number;
}

interface ReceivedUsage {
  /** instance_id, begin_time, end_time, usage_value, metering_sn, record_time of each record. */
  records: Array<Record<string, string>>;
  /** The body's keys were sorted at every level, as the push signs them. */
  sortedKeys: boolean;
  at: number;
}

/** What the next calls get instead of their answer (to play an outage or a refusal). */
type Mishap = { status: number; body: Record<string, unknown> };

export interface MarketplaceStandIn {
  url: string;
  /** The orders order/query knows, by orderId. */
  orders: Map<string, StandInOrder>;
  queries: Array<{ orderId: string; orderLineId: string | null; at: number }>;
  uploads: ReceivedUpload[];
  usage: ReceivedUsage[];
  /** Calls refused for their signature (or lack of it), with the reason. */
  refused: string[];
  /** The next `count` calls (of any API) answer `mishap`. */
  failNext(count: number, mishap: Mishap): void;
  close(): Promise<void>;
}

interface StandInOptions {
  host?: string;
  /** 0: any free port. */
  port?: number;
  /** The AK/SK licensor signs with (LICENSOR_MARKETPLACE_AKSK). */
  credentials: { accessKey: string; secretKey: string };
  /** The seller key a usage push's body is signed with (the first of LICENSOR_MARKETPLACE_KEYS). */
  sellerKey: string;
  /** The marketplace's clock (the X-Sdk-Date window is checked against it). */
  now?: () => number;
}

const API = '/api/mkp-openapi-public/global/v1';
const MAX_BODY = 1 << 20;

export async function startMarketplaceStandIn(options: StandInOptions): Promise<MarketplaceStandIn> {
  const now = options.now ?? (() => Date.now());
  const secrets = new Map([[options.credentials.accessKey, options.credentials.secretKey]]);
  const mishaps: Mishap[] = [];
  const standIn: Omit<MarketplaceStandIn, 'url' | 'close'> = {
    orders: new Map(),
    queries: [],
    uploads: [],
    usage: [],
    refused: [],
    failNext(count, mishap) {
      for (let i = 0; i < count; i++) mishaps.push(mishap);
    },
  };

  const answer = (res: ServerResponse, status: number, body: Record<string, unknown>) => {
    res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8' }).end(JSON.stringify(body));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const q = (req.url ?? '').indexOf('?');
    const verdict = verifyApigRequest(
      { method: req.method ?? 'GET', path: url.pathname, query: q < 0 ? '' : (req.url ?? '').slice(q + 1), headers: req.headers, body },
      secrets,
      now(),
    );
    if (!verdict.ok) {
      standIn.refused.push(`${req.method} ${url.pathname}: ${verdict.reason}`);
      return answer(res, 401, { error_code: 'APIGW.0301', error_msg: `Incorrect IAM authentication information: ${verdict.reason}` });
    }
    const mishap = mishaps.shift();
    if (mishap) return answer(res, mishap.status, mishap.body);

    if (req.method === 'GET' && url.pathname === `${API}/order/query`) {
      const orderId = url.searchParams.get('orderId') ?? '';
      const orderLineId = url.searchParams.get('orderLineId');
      standIn.queries.push({ orderId, orderLineId, at: now() });
      const order = standIn.orders.get(orderId);
      if (!order) return answer(res, 400, { resultCode: 'MKT.0101', resultMsg: 'Invalid parameter: no such order' });
      const lines = order.orderLine.filter((l) => orderLineId === null || l.orderLineId === orderLineId);
      return answer(res, 200, {
        resultCode: 'MKT.0000',
        resultMsg: 'Success',
        orderInfo: {
          orderId: order.orderId,
          orderType: order.orderType,
          createTime: '20260101000000',
          orderLine: lines.map((l) => ({
            orderLineId: l.orderLineId,
            chargingMode: l.chargingMode,
            ...(l.periodType ? { periodType: l.periodType, periodNumber: l.periodNumber ?? 1 } : {}),
            ...(l.expireTime ? { expireTime: l.expireTime } : {}),
            productInfo: [
              {
                productId: 'OFFI-STAND-IN',
                skuCode: 'stand-in-sku',
                ...(l.linearValue === undefined ? {} : { linearValue: l.linearValue }),
                productName: 'stand-in',
              },
            ],
            extendParams: [],
            currency: '0',
            currencyAfterDiscount: '0',
          })),
          buyerInfo: { customerId: 'stand-in-customer', customerName: 'stand_in' },
          extendParams: [],
        },
      });
    }

    const upload = new RegExp(`^${API}/market-event/([^/]+)/file$`).exec(url.pathname);
    if (req.method === 'POST' && upload) {
      const parts = parseMultipart(req.headers['content-type'] ?? '', body);
      const request = parts.get('isvUpdateFileReq');
      let meta: Record<string, unknown> | null = null;
      try {
        meta = request ? (JSON.parse(request.content.toString('utf8')) as Record<string, unknown>) : null;
      } catch {
        meta = null;
      }
      if (!meta || (meta.type !== 'CHARACTERS' && meta.type !== 'FILE'))
        return answer(res, 400, { error_code: 'CBC.0101', error_msg: 'Invalid parameter: isvUpdateFileReq' });
      const file = parts.get('file');
      if (meta.type === 'FILE' && (!file || typeof meta.sha256 !== 'string'))
        return answer(res, 400, { error_code: 'CBC.0101', error_msg: 'Invalid parameter: a FILE needs file and sha256' });
      standIn.uploads.push({
        eventId: decodeURIComponent(upload[1]!),
        type: meta.type,
        license: meta.type === 'CHARACTERS' ? String(meta.characters ?? '') : file!.content.toString('utf8'),
        fileName: meta.type === 'FILE' ? String(meta.file_name ?? file!.fileName ?? '') : null,
        sha256Matches: meta.type === 'FILE' ? createHash('sha256').update(file!.content).digest('hex') === meta.sha256 : null,
        at: now(),
      });
      return answer(res, 200, { error_code: 'CBC.0000', error_msg: 'Success' });
    }

    if (req.method === 'POST' && url.pathname === `${API}/isv/usage-data`) {
      const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : '');
      const expected = createHmac('sha256', options.sellerKey)
        .update(`ts=${header('ts')}&nonce=${header('nonce')}&body=${body.toString('utf8')}`)
        .digest();
      const given = Buffer.from(header('signature'), 'base64');
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        return answer(res, 400, { error_code: 'MKT.0102', error_msg: 'Invalid body sign' });
      let parsed: { usage_records?: unknown } = {};
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return answer(res, 400, { error_code: 'MKT.0101', error_msg: 'Invalid parameter' });
      }
      if (!Array.isArray(parsed.usage_records) || parsed.usage_records.length === 0)
        return answer(res, 400, { error_code: 'MKT.0101', error_msg: 'Invalid parameter' });
      standIn.usage.push({ records: parsed.usage_records as Array<Record<string, string>>, sortedKeys: keysSorted(parsed), at: now() });
      return answer(res, 200, { error_code: 'MKT.0000', error_msg: 'success' });
    }
    answer(res, 404, { error_code: 'APIGW.0101', error_msg: 'The API does not exist or has not been published in the environment' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => answer(res, 500, { error_code: 'MKT.0999', error_msg: 'System internal error.' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    ...standIn,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  } as MarketplaceStandIn;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) req.destroy(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The parts of a multipart/form-data body by name (enough for the upload's two parts). */
function parseMultipart(contentType: string, body: Buffer): Map<string, { content: Buffer; fileName: string | null }> {
  const parts = new Map<string, { content: Buffer; fileName: string | null }>();
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)?.[2];
  if (!boundary) return parts;
  const delimiter = Buffer.from(`--${boundary}`);
  let start = body.indexOf(delimiter);
  while (start >= 0) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next < 0) break;
    const part = body.subarray(start + delimiter.length + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    if (split >= 0) {
      const headers = part.subarray(0, split).toString('utf8');
      const name = /name="([^"]*)"/.exec(headers)?.[1];
      if (name) parts.set(name, { content: part.subarray(split + 4), fileName: /filename="([^"]*)"/.exec(headers)?.[1] ?? null });
    }
    start = next;
  }
  return parts;
}

function keysSorted(value: unknown): boolean {
  if (Array.isArray(value)) return value.every(keysSorted);
  if (value === null || typeof value !== 'object') return true;
  const keys = Object.keys(value);
  return keys.every((k, i) => i === 0 || keys[i - 1]! < k) && Object.values(value).every(keysSorted);
}
