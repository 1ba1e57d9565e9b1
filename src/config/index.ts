import { join, resolve } from 'node:path';
import { closestKey, fileKeyOf, readConfigFile } from './file';
import { listensOnLoopbackOnly, RETIRED, S, SETTINGS, SettingProblem, type Setting } from './settings';
import type { KeyAlgorithm } from '../domain/types';
import { DAY_MS } from '../domain/clock';

export { DEFAULT_MARKETPLACE_API_URLS, listensOnLoopbackOnly } from './settings';

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
  /** Activations whose heartbeat view is held in memory (src/storage/heartbeat/heartbeat-view-cache.ts); 0 reads every beat. */
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
  /** Webhook deliveries (docs/webhooks.md). */
  webhooks: WebhooksConfig;
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

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

interface LoadOptions {
  /** A JSON configuration file (`licensor --config`); LICENSOR_CONFIG names one too. */
  file?: string;
}

/** Where each setting that was given came from; settings not listed took their default. */
export interface ConfigReport {
  config: Config;
  file: string | null;
  sources: Array<{ name: string; fileKey: string; from: 'environment' | 'file' }>;
  /** Every setting's effective value, secrets masked, by file key: what `licensor config check` shows. */
  shown: Record<string, unknown>;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), options: LoadOptions = {}): Config {
  return loadConfigReport(env, cwd, options).config;
}

/**
 * The configuration from the environment and, when one is named, a configuration file, read
 * through the table of settings (config/settings.ts). A variable that is set and not empty wins
 * over the file; every problem of both is reported at once.
 */
export function loadConfigReport(processEnv: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), options: LoadOptions = {}): ConfigReport {
  const problems: string[] = [];
  const fileName = options.file ?? (processEnv.LICENSOR_CONFIG || undefined);
  const file = fileName === undefined ? null : resolve(cwd, fileName);
  const fromFile = file === null ? new Map<string, { key: string; value: string }>() : readConfigFile(file, problems);
  const given = (name: string) => processEnv[name] !== undefined && processEnv[name] !== '';
  const rawOf = (name: string) => (given(name) ? processEnv[name] : fromFile.get(name)?.value);

  const values = new Map<string, unknown>();
  for (const setting of SETTINGS) {
    const raw = rawOf(setting.name);
    let value = setting.default;
    if (raw !== undefined && raw !== '') {
      try {
        value = setting.parse(raw);
      } catch (err) {
        if (!(err instanceof SettingProblem)) throw err;
        // A value from the file is named by the file's key, not by the variable nobody set.
        const named = given(setting.name) ? setting.name : `"${fromFile.get(setting.name)!.key}" in ${file}`;
        for (const message of err.messages) problems.push(`${named} ${message}`);
      }
    }
    values.set(setting.name, value);
  }
  const config = buildConfig(<T>(setting: Setting<T>) => values.get(setting.name) as T, cwd, problems);

  const retired = (name: string) => given(name) || fromFile.has(name);
  config.retired = Object.keys(RETIRED)
    .filter(retired)
    .map((name) => `${name} (${fileKeyOf(name)}) is no longer used: ${RETIRED[name]}`);
  const knownKeys = SETTINGS.map((s) => fileKeyOf(s.name));
  for (const [name, { key }] of fromFile) {
    if (SETTINGS.some((s) => s.name === name) || name in RETIRED) continue;
    const near = closestKey(key, knownKeys);
    problems.push(`"${key}" in ${file} is not a setting${near ? ` (did you mean "${near}"?)` : ''}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const sources = SETTINGS.map((s) => s.name)
    .filter((name) => given(name) || fromFile.has(name))
    .sort()
    .map((name) => ({ name, fileKey: fileKeyOf(name), from: given(name) ? ('environment' as const) : ('file' as const) }));
  const shown = Object.fromEntries(
    SETTINGS.map((s) => {
      const value = values.get(s.name);
      return [fileKeyOf(s.name), s.mask && value !== undefined ? s.mask(value) : value === undefined ? null : value];
    }),
  );
  return { config, file, sources, shown };
}

/** The typed configuration from the settings' values: its structure, units and the rules between settings. */
function buildConfig(v: <T>(setting: Setting<T>) => T, cwd: string, problems: string[]): Config {
  const dataDir = resolve(cwd, v(S.dataDir));
  const releaseDays = v(S.releaseExpiredAfterDays);
  const openApiCredentials = v(S.openApiAksk);
  const openApiAllowUnsigned = v(S.openApiAllowUnsigned);
  if (openApiAllowUnsigned && openApiCredentials.length > 0) {
    problems.push('LICENSOR_OPENAPI_ALLOW_UNSIGNED=true and LICENSOR_OPENAPI_AKSK are both set: with AK/SK pairs every call must be signed; unset one of them');
  }
  return {
    port: v(S.port),
    host: v(S.host),
    dataDir,
    databaseUrl: v(S.databaseUrl),
    sqliteFile: join(dataDir, 'licensor.db'),
    adminToken: v(S.adminToken),
    issuer: v(S.issuer),
    keyAlgorithm: v(S.keyAlgorithm),
    maxTokenLifetimeMs: v(S.maxTokenLifetimeDays) * DAY_MS,
    sweepIntervalMs: v(S.sweepIntervalSeconds) * 1000,
    releaseExpiredAfterMs: releaseDays === 0 ? null : releaseDays * DAY_MS,
    heartbeatFlushMs: v(S.heartbeatFlushMs),
    heartbeatCacheEntries: v(S.heartbeatCacheEntries),
    logLevel: v(S.logLevel),
    metricsToken: v(S.metricsToken),
    keyEncryptionKey: v(S.keyEncryptionKey),
    marketplace: {
      accessKeys: v(S.marketplaceKeys),
      productionPath: v(S.marketplacePath),
      product: v(S.marketplaceProduct),
      seats: v(S.marketplaceSeats),
      instanceDays: v(S.marketplaceInstanceDays),
      requireDeviceFingerprint: v(S.marketplaceRequireFingerprint),
      budgetMs: v(S.marketplaceBudgetMs),
      openApiCredentials,
      openApiAllowUnsigned,
      apiUrls: v(S.marketplaceApiUrl),
      apiCredentials: v(S.marketplaceAksk),
      apiTimeoutMs: v(S.marketplaceApiTimeoutMs),
    },
    outbox: {
      pollMs: v(S.outboxPollMs),
      firstRetryMs: v(S.outboxRetrySeconds) * 1000,
      giveUpAfterMs: v(S.outboxGiveUpHours) * 3_600_000,
      keepDeliveredMs: v(S.outboxKeepDays) * DAY_MS,
    },
    webhooks: {
      allowPrivate: v(S.webhooksAllowPrivate),
      timeoutMs: v(S.webhooksTimeoutMs),
      disableAfterMs: v(S.webhooksDisableAfterHours) * 3_600_000,
    },
    trustProxy: v(S.trustProxy),
    headersTimeoutMs: v(S.headersTimeoutMs),
    requestTimeoutMs: v(S.requestTimeoutMs),
    shutdownGraceMs: v(S.shutdownGraceMs),
    guessLimits: {
      failuresPerMinute: v(S.guessesPerMinute),
      failureBurst: v(S.guessBurst),
      globalFailuresPerMinute: v(S.globalGuessesPerMinute),
      globalFailureBurst: v(S.globalGuessBurst),
      codeAttemptsPerMinute: v(S.codeAttemptsPerMinute),
      codeBurst: v(S.codeAttemptBurst),
    },
    retired: [],
  };
}

interface MarketplaceConfig {
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

interface OutboxConfig {
  pollMs: number;
  /** Wait after a first failed delivery; it doubles with each further failure, up to an hour. */
  firstRetryMs: number;
  /** An entry still undelivered this long after it was owed is given up (shown as failed). */
  giveUpAfterMs: number;
  keepDeliveredMs: number;
}

interface WebhooksConfig {
  /** Endpoints may resolve to loopback, link-local or private addresses. */
  allowPrivate: boolean;
  timeoutMs: number;
  /** An endpoint failing this long without a success is switched off. */
  disableAfterMs: number;
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
    warnings.push(
      `/metrics answers 403 metrics_token_not_configured: the server listens on ${config.host}, beyond loopback, and LICENSOR_METRICS_TOKEN is not set`,
    );
  }
  return warnings;
}
