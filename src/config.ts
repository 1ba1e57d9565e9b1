import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { closestKey, fileKeyOf, readConfigFile } from './config-file';
import type { KeyAlgorithm } from './domain/types';

/** One typed configuration, built and validated once at start; nothing else reads process.env. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** postgres://… ; undefined means the embedded SQLite file in dataDir. */
  databaseUrl: string | undefined;
  sqliteFile: string;
  /** From LICENSOR_ADMIN_TOKEN; when absent the runtime generates one and keeps it in dataDir. */
  adminToken: string | undefined;
  issuer: string;
  keyAlgorithm: KeyAlgorithm;
  maxTokenLifetimeMs: number;
  sweepIntervalMs: number;
  /** Release codes this long after they expired; null keeps them. */
  releaseExpiredAfterMs: number | null;
  heartbeatFlushMs: number;
  /** Activations whose heartbeat view is held in memory (src/storage/heartbeat-view-cache.ts); 0 reads every beat. */
  heartbeatCacheEntries: number;
  logLevel: string;
  /**
   * Bearer token Prometheus must send to /metrics. Undefined leaves /metrics open on a loopback
   * listener and closes it (403) on any other (docs/operations.md).
   */
  metricsToken: string | undefined;
  /** 32 bytes that encrypt signing keys at rest (AES-256-GCM); undefined stores them as PEM. */
  keyEncryptionKey: Buffer | undefined;
  /** The marketplace compatibility layer (docs/marketplace.md). */
  marketplace: MarketplaceConfig;
  /** Delivery of the calls licensor owes to other systems (docs/operations.md "Calls licensor owes"). */
  outbox: OutboxConfig;
  /** Honour X-Forwarded-For from a reverse proxy (express "trust proxy" value), or not. */
  trustProxy: boolean | number | string;
  /** Bounds that keep a few slow connections from holding the server. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** On SIGTERM, how long to keep serving (with /readyz at 503) before closing connections. */
  shutdownGraceMs: number;
  /** Code-guessing limits (src/http/rate-limit.ts), each per minute and the burst allowed at once. */
  guessLimits: {
    /** Failed code lookups per client address (IPv6: per /64). */
    failuresPerMinute: number;
    failureBurst: number;
    /** Failed code lookups of all addresses together. */
    globalFailuresPerMinute: number;
    globalFailureBurst: number;
    /** Attempts on any one code, whatever their outcome. */
    codeAttemptsPerMinute: number;
    codeBurst: number;
  };
  /** Settings given that no longer do anything, each with why (`licensor serve` warns of them). */
  retired: string[];
}

/**
 * Settings that no longer do anything. They are accepted, from the environment and from a file,
 * so that an upgrade does not refuse a configuration that worked; the server warns of them.
 */
const RETIRED: Record<string, string> = {
  LICENSOR_SWEEP_PARALLEL_BATCHES: 'sweeper batches now go one at a time, in expiry-date order (docs/performance.md)',
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const DAY = 86_400_000;

export interface LoadOptions {
  /** A JSON configuration file (`licensor --config`); LICENSOR_CONFIG names one too. */
  file?: string;
}

/** Where each setting that was given came from; settings not listed took their default. */
export interface ConfigReport {
  config: Config;
  file: string | null;
  sources: Array<{ name: string; fileKey: string; from: 'environment' | 'file' }>;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), options: LoadOptions = {}): Config {
  return loadConfigReport(env, cwd, options).config;
}

/**
 * The configuration from the environment and, when one is named, a configuration file. A
 * variable that is set and not empty wins over the file; every problem of both is reported at once.
 */
export function loadConfigReport(processEnv: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), options: LoadOptions = {}): ConfigReport {
  const problems: string[] = [];
  const fileName = options.file ?? (processEnv.LICENSOR_CONFIG || undefined);
  const file = fileName === undefined ? null : resolve(cwd, fileName);
  const fromFile = file === null ? new Map<string, { key: string; value: string }>() : readConfigFile(file, problems);
  const given = (name: string) => processEnv[name] !== undefined && processEnv[name] !== '';
  // Every setting read below is noted, so that a file key naming none of them is reported.
  const read = new Set<string>();
  const env = new Proxy({} as NodeJS.ProcessEnv, {
    get(_target, name) {
      if (typeof name !== 'string') return undefined;
      read.add(name);
      return given(name) ? processEnv[name] : fromFile.get(name)?.value;
    },
  });
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };

  const dataDir = resolve(cwd, env.LICENSOR_DATA_DIR || 'data');
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must start with postgres:// (leave it unset for the embedded SQLite database)');
  }
  const keyAlgorithm = (env.LICENSOR_KEY_ALG || 'EdDSA') as KeyAlgorithm;
  if (keyAlgorithm !== 'EdDSA' && keyAlgorithm !== 'ES256') problems.push('LICENSOR_KEY_ALG must be EdDSA or ES256');
  const adminToken = env.LICENSOR_ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && adminToken.length < 16) problems.push('LICENSOR_ADMIN_TOKEN must be at least 16 characters');
  const releaseDays = int('LICENSOR_RELEASE_EXPIRED_AFTER_DAYS', 0, 0, 36_500);

  const config: Config = {
    port: int('LICENSOR_PORT', 7300, 0, 65_535),
    host: env.LICENSOR_HOST || '127.0.0.1',
    dataDir,
    databaseUrl,
    sqliteFile: join(dataDir, 'licensor.db'),
    adminToken,
    issuer: env.LICENSOR_ISSUER || 'licensor',
    keyAlgorithm,
    maxTokenLifetimeMs: int('LICENSOR_MAX_TOKEN_LIFETIME_DAYS', 400, 1, 3650) * DAY,
    sweepIntervalMs: int('LICENSOR_SWEEP_INTERVAL_SECONDS', 30, 1, 86_400) * 1000,
    releaseExpiredAfterMs: releaseDays === 0 ? null : releaseDays * DAY,
    heartbeatFlushMs: int('LICENSOR_HEARTBEAT_FLUSH_MS', 1000, 10, 60_000),
    heartbeatCacheEntries: int('LICENSOR_HEARTBEAT_CACHE_ENTRIES', 50_000, 0, 10_000_000),
    logLevel: env.LICENSOR_LOG_LEVEL || 'info',
    metricsToken: undefined,
    keyEncryptionKey: parseKeyEncryptionKey(env.LICENSOR_KEY_ENCRYPTION_KEY, problems),
    marketplace: marketplaceConfig(env, int, problems),
    outbox: {
      pollMs: int('LICENSOR_OUTBOX_POLL_MS', 1000, 10, 60_000),
      firstRetryMs: int('LICENSOR_OUTBOX_RETRY_SECONDS', 30, 1, 3600) * 1000,
      giveUpAfterMs: int('LICENSOR_OUTBOX_GIVE_UP_HOURS', 48, 1, 720) * 3_600_000,
      keepDeliveredMs: int('LICENSOR_OUTBOX_KEEP_DAYS', 30, 1, 3650) * DAY,
    },
    trustProxy: parseTrustProxy(env.LICENSOR_TRUST_PROXY, problems),
    headersTimeoutMs: int('LICENSOR_HEADERS_TIMEOUT_MS', 10_000, 100, 300_000),
    requestTimeoutMs: int('LICENSOR_REQUEST_TIMEOUT_MS', 30_000, 100, 600_000),
    shutdownGraceMs: int('LICENSOR_SHUTDOWN_GRACE_MS', 1_000, 0, 60_000),
    guessLimits: {
      failuresPerMinute: int('LICENSOR_GUESSES_PER_MINUTE', 10, 1, 100_000),
      failureBurst: int('LICENSOR_GUESS_BURST', 20, 1, 1_000_000_000),
      globalFailuresPerMinute: int('LICENSOR_GLOBAL_GUESSES_PER_MINUTE', 600, 1, 1_000_000),
      globalFailureBurst: int('LICENSOR_GLOBAL_GUESS_BURST', 1000, 1, 1_000_000_000),
      codeAttemptsPerMinute: int('LICENSOR_CODE_ATTEMPTS_PER_MINUTE', 120, 1, 100_000),
      codeBurst: int('LICENSOR_CODE_ATTEMPT_BURST', 120, 1, 1_000_000_000),
    },
    retired: [],
  };
  const metricsToken = env.LICENSOR_METRICS_TOKEN || undefined;
  if (metricsToken !== undefined && metricsToken.length < 16) problems.push('LICENSOR_METRICS_TOKEN must be at least 16 characters');
  config.metricsToken = metricsToken;
  if (!LOG_LEVELS.includes(config.logLevel)) problems.push(`LICENSOR_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  config.retired = Object.keys(RETIRED)
    .filter((name) => given(name) || fromFile.has(name))
    .map((name) => `${name} (${fileKeyOf(name)}) is no longer used: ${RETIRED[name]}`);
  const knownKeys = [...read].map(fileKeyOf);
  for (const [name, { key }] of fromFile) {
    if (read.has(name) || name in RETIRED) continue;
    const near = closestKey(key, knownKeys);
    problems.push(`"${key}" in ${file} is not a setting${near ? ` (did you mean "${near}"?)` : ''}`);
  }
  if (problems.length > 0) {
    // A problem with a value from the file names the file's key, not the variable nobody set.
    throw new ConfigError(
      problems.map((p) => {
        const name = /^[A-Z][A-Z0-9_]+/.exec(p)?.[0];
        return name && !given(name) && fromFile.has(name) ? `"${fromFile.get(name)!.key}" in ${file}${p.slice(name.length)}` : p;
      }),
    );
  }
  const sources = [...read]
    .filter((name) => given(name) || fromFile.has(name))
    .sort()
    .map((name) => ({ name, fileKey: fileKeyOf(name), from: given(name) ? ('environment' as const) : ('file' as const) }));
  return { config, file, sources };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The configuration with every secret masked, for `licensor config check`. */
export function maskedConfig(config: Config): Record<string, unknown> {
  const masked = (s: string | undefined) => (s === undefined ? null : '<set, masked>');
  return {
    ...config,
    databaseUrl: config.databaseUrl === undefined ? null : config.databaseUrl.replace(/^(postgres(?:ql)?:\/\/[^:@/]*:)[^@]*@/, '$1****@'),
    adminToken: config.adminToken === undefined ? '<generated on first start, kept in the data directory>' : masked(config.adminToken),
    metricsToken: config.metricsToken === undefined ? null : masked(config.metricsToken),
    keyEncryptionKey: config.keyEncryptionKey === undefined ? null : '<set, masked>',
    marketplace: {
      ...config.marketplace,
      accessKeys: config.marketplace.accessKeys.map(() => '<masked>'),
      openApiCredentials: config.marketplace.openApiCredentials.map((c) => ({ accessKey: c.accessKey, secretKey: '<masked>' })),
      apiCredentials: config.marketplace.apiCredentials === null ? null : { accessKey: config.marketplace.apiCredentials.accessKey, secretKey: '<masked>' },
    },
  };
}

/** 32 bytes as 64 hex digits or base64; anything else is a problem, reported with the rest. */
function parseKeyEncryptionKey(raw: string | undefined, problems: string[]): Buffer | undefined {
  if (raw === undefined || raw === '') return undefined;
  const bytes = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(raw) ? Buffer.from(raw, 'base64') : null;
  if (!bytes || bytes.length !== 32) {
    problems.push('LICENSOR_KEY_ENCRYPTION_KEY must be 32 random bytes as 64 hex digits or base64 (e.g. openssl rand -hex 32)');
    return undefined;
  }
  return bytes;
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An entry Express accepts in a trust-proxy list: a preset name, an address, or address/prefix or address/netmask. */
function isProxyEntry(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [address, range, ...extra] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || extra.length > 0) return false;
  if (range === undefined) return true;
  if (/^\d{1,3}$/.test(range)) return Number(range) <= (family === 4 ? 32 : 128);
  return isIP(range) === family;
}

/** "true"/"false", a hop count, or an address list such as "loopback, 10.0.0.0/8". */
function parseTrustProxy(raw: string | undefined, problems: string[]): boolean | number | string {
  if (raw === undefined || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  const bad = raw.split(',').map((e) => e.trim()).filter((e) => !isProxyEntry(e));
  if (bad.length > 0) {
    problems.push(`LICENSOR_TRUST_PROXY must be true, false, a hop count or a list of loopback, linklocal, uniquelocal, addresses and subnets (not ${bad.map((b) => JSON.stringify(b)).join(', ')})`);
  }
  return raw;
}

export interface MarketplaceConfig {
  /** Seller Center access keys that sign production-interface requests; several during a rotation. */
  accessKeys: string[];
  /** Where the marketplace POSTs (the production URL's path). */
  productionPath: string;
  /** The product new instances issue codes under, their seats, and their validity until the marketplace sends one. */
  product: string;
  seats: number;
  instanceDays: number;
  requireDeviceFingerprint: boolean;
  /** The marketplace waits 5 s; slower work is answered 000004 and finishes in the background. */
  budgetMs: number;
  /**
   * AK/SK pairs that may sign calls to the marketplace-compatible open API. With none the open API
   * refuses every call, unless `openApiAllowUnsigned` opens it for local testing.
   */
  openApiCredentials: Array<{ accessKey: string; secretKey: string }>;
  /** LICENSOR_OPENAPI_ALLOW_UNSIGNED: answer unsigned open-API calls (local testing only; `licensor serve` warns). */
  openApiAllowUnsigned: boolean;
  /**
   * The marketplace's open API, for the calls licensor makes (order/query, license upload, usage
   * push): base URLs tried in order (the `.com` host, then `.cn` when it cannot be reached).
   */
  apiUrls: string[];
  /** The seller's AK/SK that signs those calls; null: licensor calls the marketplace not at all. */
  apiCredentials: { accessKey: string; secretKey: string } | null;
  /** How long one call may take, per base URL. */
  apiTimeoutMs: number;
}

export interface OutboxConfig {
  pollMs: number;
  /** Wait after a first failed delivery; it doubles with each further failure, up to an hour. */
  firstRetryMs: number;
  /** An entry still undelivered this long after it was owed is given up (shown as failed). */
  giveUpAfterMs: number;
  keepDeliveredMs: number;
}

/** The marketplace's open API hosts (docs/marketplace.md): the China site, then the fallback its pages name. */
export const DEFAULT_MARKETPLACE_API_URLS = ['https://mkt.myhuaweicloud.com', 'https://mkt.myhuaweicloud.cn'];

type IntReader = (name: string, fallback: number, min: number, max: number) => number;

function marketplaceConfig(env: NodeJS.ProcessEnv, int: IntReader, problems: string[]): MarketplaceConfig {
  const list = (raw: string | undefined) => (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const accessKeys = list(env.LICENSOR_MARKETPLACE_KEYS);
  if (accessKeys.some((k) => k.length < 8 || /\s/.test(k))) {
    problems.push('LICENSOR_MARKETPLACE_KEYS must be comma-separated access keys of at least 8 characters each');
  }
  const productionPath = env.LICENSOR_MARKETPLACE_PATH || '/produce';
  if (!/^\/[A-Za-z0-9._~\/-]*$/.test(productionPath) || /^\/(v1|api|\.well-known)(\/|$)/.test(productionPath)) {
    problems.push('LICENSOR_MARKETPLACE_PATH must be a path such as /produce, outside /v1, /api and /.well-known');
  }
  const openApiCredentials: MarketplaceConfig['openApiCredentials'] = [];
  for (const pair of list(env.LICENSOR_OPENAPI_AKSK)) {
    const colon = pair.indexOf(':');
    const accessKey = colon > 0 ? pair.slice(0, colon) : '';
    const secretKey = colon > 0 ? pair.slice(colon + 1) : '';
    if (!accessKey || !secretKey) problems.push('LICENSOR_OPENAPI_AKSK must be comma-separated AK:SK pairs, e.g. ak1:sk1,ak2:sk2');
    else if (openApiCredentials.some((c) => c.accessKey === accessKey)) problems.push(`LICENSOR_OPENAPI_AKSK names the access key "${accessKey}" twice`);
    else openApiCredentials.push({ accessKey, secretKey });
  }
  const requireDeviceFingerprint = flag(env, 'LICENSOR_MARKETPLACE_REQUIRE_FINGERPRINT', problems);
  const openApiAllowUnsigned = flag(env, 'LICENSOR_OPENAPI_ALLOW_UNSIGNED', problems);
  if (openApiAllowUnsigned && openApiCredentials.length > 0) {
    problems.push('LICENSOR_OPENAPI_ALLOW_UNSIGNED=true and LICENSOR_OPENAPI_AKSK are both set: with AK/SK pairs every call must be signed; unset one of them');
  }
  const apiUrls = list(env.LICENSOR_MARKETPLACE_API_URL);
  for (const url of apiUrls) {
    if (!isMarketplaceBase(url)) {
      problems.push(`LICENSOR_MARKETPLACE_API_URL must be comma-separated https:// base URLs (http:// only for a loopback host), not "${url}"`);
    }
  }
  let apiCredentials: MarketplaceConfig['apiCredentials'] = null;
  const pair = env.LICENSOR_MARKETPLACE_AKSK ?? '';
  if (pair !== '') {
    const colon = pair.indexOf(':');
    if (colon > 0 && colon < pair.length - 1 && !/[\s,]/.test(pair)) apiCredentials = { accessKey: pair.slice(0, colon), secretKey: pair.slice(colon + 1) };
    else problems.push('LICENSOR_MARKETPLACE_AKSK must be one AK:SK pair, e.g. AK1234:SK5678');
  }
  return {
    accessKeys,
    productionPath,
    product: env.LICENSOR_MARKETPLACE_PRODUCT || 'marketplace',
    seats: int('LICENSOR_MARKETPLACE_SEATS', 1, 1, 100_000),
    instanceDays: int('LICENSOR_MARKETPLACE_INSTANCE_DAYS', 30, 1, 36_500),
    requireDeviceFingerprint,
    budgetMs: int('LICENSOR_MARKETPLACE_BUDGET_MS', 4000, 0, 4900),
    openApiCredentials,
    openApiAllowUnsigned,
    apiUrls: apiUrls.length > 0 ? apiUrls.map((u) => u.replace(/\/+$/, '')) : DEFAULT_MARKETPLACE_API_URLS,
    apiCredentials,
    apiTimeoutMs: int('LICENSOR_MARKETPLACE_API_TIMEOUT_MS', 10_000, 100, 120_000),
  };
}

/** An https:// URL without query or fragment; http:// only for a loopback host (a stand-in, in tests and `licensor simulate`). */
function isMarketplaceBase(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && listensOnLoopbackOnly(url.hostname));
}

/** A true/false setting: "true"/"1" or "false"/"0", unset meaning false. */
function flag(env: NodeJS.ProcessEnv, name: string, problems: string[]): boolean {
  const raw = env[name] ?? '';
  if (!['', '0', '1', 'true', 'false'].includes(raw)) problems.push(`${name} must be true or false`);
  return raw === '1' || raw === 'true';
}

/** True when the listen address is loopback only (127.0.0.0/8, ::1, localhost): nobody else can connect. */
export function listensOnLoopbackOnly(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/**
 * What `licensor serve` warns of at start: settings that leave something open that is closed by
 * default, or closed that an operator may expect open.
 */
export function startWarnings(config: Config): string[] {
  const warnings: string[] = [];
  if (config.marketplace.openApiAllowUnsigned) {
    warnings.push(
      'LICENSOR_OPENAPI_ALLOW_UNSIGNED=true: the marketplace-compatible open API answers unsigned calls, so anyone who can reach it can activate codes, read their status and write usage figures; for local testing only (set LICENSOR_OPENAPI_AKSK in production)',
    );
  }
  if (config.metricsToken === undefined && !listensOnLoopbackOnly(config.host)) {
    warnings.push(`/metrics answers 403 metrics_token_not_configured: the server listens on ${config.host}, beyond loopback, and LICENSOR_METRICS_TOKEN is not set`);
  }
  return warnings;
}
