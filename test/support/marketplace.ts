import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import knex, { type Knex } from 'knex';
import type { TestDatabase } from './databases';

export const MARKETPLACE_KEY = 'mkp-access-key-0001';
/** A second configured key: the marketplace rotates keys, both must work meanwhile. */
export const ROTATED_KEY = 'mkp-access-key-0002';
export const PRODUCTION_PATH = '/produce';

export function marketplaceEnv(product: string, extra: Record<string, string> = {}): Record<string, string> {
  return { LICENSOR_MARKETPLACE_KEYS: `${MARKETPLACE_KEY},${ROTATED_KEY}`, LICENSOR_MARKETPLACE_PRODUCT: product, ...extra };
}

/**
 * The request signature of docs/marketplace.md §3.2, written out here on its own so
 * a mistake in the server's implementation cannot hide behind the same mistake in the test.
 */
export function requestSignature(key: string, nonce: string, timestamp: string, body: Buffer): string {
  const bodyHash = createHmac('sha256', key).update(body).digest('hex').toLowerCase();
  return createHmac('sha256', key)
    .update(key + nonce + timestamp + bodyHash)
    .digest('hex');
}

/** §3.4, written out independently: `sign_type="HMAC-SHA256", signature="<base64>"`. */
export function expectedBodySign(key: string, bytes: Buffer): string {
  return `sign_type="HMAC-SHA256", signature="${createHmac('sha256', key).update(bytes).digest('base64')}"`;
}

export interface ProduceOptions {
  /** The server's clock, in ms: the timestamp sent unless `timestamp` is given. */
  now: number;
  key?: string;
  timestamp?: string;
  nonce?: string;
  /** Overrides the computed signature. */
  signature?: string;
  /** Leaves these query parameters out. */
  omit?: Array<'signature' | 'timestamp' | 'nonce'>;
  path?: string;
}

export interface ProduceAnswer {
  status: number;
  /** The answer bytes exactly as received. */
  bytes: Buffer;
  body: any;
  bodySign: string | null;
  /** What was sent, to replay it byte for byte. */
  sent: { url: string; body: Buffer };
}

/** Signs and POSTs a production-interface request as the marketplace does. */
export async function produce(base: string, payload: Record<string, unknown> | Buffer, options: ProduceOptions): Promise<ProduceAnswer> {
  const request = signedRequest(base, payload, options);
  return send(request.url, request.body);
}

/** A signed request, built but not sent (to send the same bytes to several servers at once). */
export function signedRequest(base: string, payload: Record<string, unknown> | Buffer, options: ProduceOptions): { url: string; body: Buffer } {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload), 'utf8');
  const key = options.key ?? MARKETPLACE_KEY;
  const timestamp = options.timestamp ?? String(options.now);
  const nonce = options.nonce ?? randomBytes(16).toString('hex');
  const params: Record<string, string> = { signature: options.signature ?? requestSignature(key, nonce, timestamp, body), timestamp, nonce };
  for (const name of options.omit ?? []) delete params[name];
  return { url: `${base}${options.path ?? PRODUCTION_PATH}?${new URLSearchParams(params)}`, body };
}

/** Sends the same bytes to the same (or another server's) URL again: a replay. */
export async function replay(sent: { url: string; body: Buffer }, toBase?: string): Promise<ProduceAnswer> {
  const url = toBase ? toBase + sent.url.slice(new URL(sent.url).origin.length) : sent.url;
  return send(url, sent.body);
}

async function send(url: string, body: Buffer): Promise<ProduceAnswer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json;charset=UTF-8' }, body });
  const bytes = Buffer.from(await res.arrayBuffer());
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  return { status: res.status, bytes, body: parsed, bodySign: res.headers.get('body-sign'), sent: { url, body } };
}

/** yyyyMMddHHmmss (UTC), written out independently of the server's formatter. */
export function compact(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

let counter = 0;
/** A fresh marketplace-looking id (orders, businessIds, events). */
export function mkpId(prefix: string): string {
  return `${prefix}${Date.now()}${++counter}${randomBytes(2).toString('hex')}`;
}

/** A separate connection to the test database, for holding locks and reading rows as they are. */
export function openSideConnection(db: TestDatabase): Knex {
  return db.databaseUrl
    ? knex({ client: 'pg', connection: db.databaseUrl, pool: { min: 0, max: 2 } })
    : knex({ client: 'sqlite3', connection: { filename: join(db.dataDir, 'licensor.db') }, useNullAsDefault: true, pool: { min: 0, max: 1 } });
}

/**
 * The instance id an order line gets (docs/marketplace.md "newInstance"): a UUIDv5 (RFC 9562) of
 * `orderId\norderLineId` under licensor's namespace, written out here on its own.
 */
export function expectedInstanceId(orderId: string, orderLineId: string): string {
  const bytes = createHash('sha1').update(Buffer.from('6f1c9a524b7e4d3a9c1f2e8d7b4a0c61', 'hex')).update(`${orderId}\n${orderLineId}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join('-');
}

/**
 * Another connection holds the database busy for the marketplace's writes until released: on
 * PostgreSQL a lock on the instance and license tables that lets reads through, on SQLite the
 * write lock. A request that must write there cannot finish while it is held.
 */
export async function holdMarketplaceTables(db: TestDatabase): Promise<() => Promise<void>> {
  const side = openSideConnection(db);
  const holder = await side.transaction();
  if (db.databaseUrl) await holder.raw('LOCK TABLE marketplace_instances, marketplace_licenses IN SHARE ROW EXCLUSIVE MODE');
  else await holder('marketplace_instances').where('instance_id', '').update({ test: false });
  return async () => {
    await holder.commit();
    await side.destroy();
  };
}

/** A loopback port nothing listens on (taken and let go): for a server that must know a URL before its peer starts. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
