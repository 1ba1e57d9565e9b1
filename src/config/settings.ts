import { isIP } from 'node:net';
import type { KeyAlgorithm } from '../domain/types';

/**
 * Every setting licensor reads, as data: its environment variable (a configuration file's key is
 * the same name in camelCase: config/file.ts), what it means, its default, how its text becomes a
 * value with its bounds, and whether it is a secret. This one table drives reading the
 * environment and the file, `licensor config check` (masked where secret) and the README's
 * settings table (test/config.test.ts holds the two to the same list). config/index.ts turns the
 * values into the typed Config.
 */
export interface Setting<T> {
  readonly name: string;
  readonly describe: string;
  readonly default: T;
  /** How the README says the default, when it is not the value itself (e.g. "generated on first start"). */
  readonly defaultText?: string;
  /** The value of a non-empty text; throws SettingProblem with what is wrong. */
  parse(raw: string): T;
  /** Secrets are masked wherever the configuration is shown; some show their public part. */
  readonly mask?: (value: T) => unknown;
}

/**
 * What is wrong with a setting's value, in words that follow its name ("LICENSOR_PORT must be …");
 * a list reports each bad entry, so an operator fixes them all in one go.
 */
export class SettingProblem extends Error {
  readonly messages: string[];
  constructor(...messages: [string, ...string[]]) {
    super(messages.join('; '));
    this.messages = messages;
  }
}

const MASKED = '<set, masked>';

function setting<T>(spec: Setting<T>): Setting<T> {
  return Object.freeze(spec);
}

function whole(name: string, describe: string, fallback: number, min: number, max: number, defaultText?: string): Setting<number> {
  return setting({
    name,
    describe,
    default: fallback,
    ...(defaultText === undefined ? {} : { defaultText }),
    parse(raw) {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max) throw new SettingProblem(`must be a whole number from ${min} to ${max} (got "${raw}")`);
      return n;
    },
  });
}

function text(name: string, describe: string, fallback: string): Setting<string> {
  return setting({ name, describe, default: fallback, parse: (raw) => raw });
}

function oneOf<T extends string>(name: string, describe: string, choices: readonly T[], fallback: T, problem?: string): Setting<T> {
  return setting({
    name,
    describe,
    default: fallback,
    parse(raw) {
      if (!(choices as readonly string[]).includes(raw)) throw new SettingProblem(problem ?? `must be one of ${choices.join(', ')}`);
      return raw as T;
    },
  });
}

function flag(name: string, describe: string): Setting<boolean> {
  return setting({
    name,
    describe,
    default: false,
    parse(raw) {
      if (!['0', '1', 'true', 'false'].includes(raw)) throw new SettingProblem('must be true or false');
      return raw === '1' || raw === 'true';
    },
  });
}

/** A bearer token of at least 16 characters; unset is `undefined`. */
function token(name: string, describe: string, defaultText: string): Setting<string | undefined> {
  return setting({
    name,
    describe,
    default: undefined,
    defaultText,
    parse(raw) {
      if (raw.length < 16) throw new SettingProblem('must be at least 16 characters');
      return raw;
    },
    mask: () => MASKED,
  });
}

const list = (raw: string) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** `AK:SK,AK:SK`: pairs whose secret half is never shown. */
function keyPairs(name: string, describe: string): Setting<Array<{ accessKey: string; secretKey: string }>> {
  return setting({
    name,
    describe,
    default: [],
    defaultText: '–',
    parse(raw) {
      const pairs: Array<{ accessKey: string; secretKey: string }> = [];
      const problems: string[] = [];
      for (const pair of list(raw)) {
        const colon = pair.indexOf(':');
        const accessKey = pair.slice(0, colon);
        if (colon <= 0 || colon === pair.length - 1) problems.push('must be comma-separated AK:SK pairs, e.g. ak1:sk1,ak2:sk2');
        else if (pairs.some((p) => p.accessKey === accessKey)) problems.push(`names the access key "${accessKey}" twice`);
        else pairs.push({ accessKey, secretKey: pair.slice(colon + 1) });
      }
      if (problems.length > 0) throw new SettingProblem(...(problems as [string, ...string[]]));
      return pairs;
    },
    mask: (pairs) => pairs.map((p) => ({ accessKey: p.accessKey, secretKey: '<masked>' })),
  });
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

/** True when the listen address is loopback only (127.0.0.0/8, ::1, localhost): nobody else can connect. */
export function listensOnLoopbackOnly(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** An https:// URL without query or fragment; http:// only for a loopback host (a stand-in, in tests and `licensor simulate`). */
function isMarketplaceBase(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && listensOnLoopbackOnly(url.hostname));
}

/** The marketplace's open API hosts (docs/marketplace.md): the China site, then the fallback its pages name. */
export const DEFAULT_MARKETPLACE_API_URLS = ['https://mkt.myhuaweicloud.com', 'https://mkt.myhuaweicloud.cn'];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The settings, in the order the README lists them. */
export const S = {
  port: whole('LICENSOR_PORT', 'listen port (`0` picks a free one)', 7300, 0, 65_535),
  host: text('LICENSOR_HOST', 'listen address', '127.0.0.1'),
  dataDir: text('LICENSOR_DATA_DIR', 'SQLite file (`licensor.db`) and the generated admin token; owner-only (0700/0600)', 'data'),
  databaseUrl: setting<string | undefined>({
    name: 'DATABASE_URL',
    describe: '`postgres://…` to use PostgreSQL; absent → SQLite',
    default: undefined,
    defaultText: '–',
    parse(raw) {
      if (!/^postgres(ql)?:\/\//.test(raw)) throw new SettingProblem('must start with postgres:// (leave it unset for the embedded SQLite database)');
      return raw;
    },
    mask: (url) => url?.replace(/^(postgres(?:ql)?:\/\/[^:@/]*:)[^@]*@/, '$1****@') ?? null,
  }),
  adminToken: token(
    'LICENSOR_ADMIN_TOKEN',
    'admin API bearer token (≥ 16 characters)',
    'generated on first start, kept in `<data dir>/admin-token` (0600); never printed',
  ),
  issuer: text('LICENSOR_ISSUER', '`iss` of lease tokens', 'licensor'),
  keyAlgorithm: oneOf<KeyAlgorithm>('LICENSOR_KEY_ALG', '`EdDSA` (Ed25519) or `ES256`', ['EdDSA', 'ES256'], 'EdDSA', 'must be EdDSA or ES256'),
  maxTokenLifetimeDays: whole('LICENSOR_MAX_TOKEN_LIFETIME_DAYS', 'how long a retired key stays published', 400, 1, 3650),
  sweepIntervalSeconds: whole('LICENSOR_SWEEP_INTERVAL_SECONDS', 'how often codes are expired and lapsed floating seats culled', 30, 1, 86_400),
  releaseExpiredAfterDays: whole('LICENSOR_RELEASE_EXPIRED_AFTER_DAYS', 'release codes this long after they expired (`0` = never)', 0, 0, 36_500),
  heartbeatFlushMs: whole('LICENSOR_HEARTBEAT_FLUSH_MS', 'how often coalesced heartbeat writes are flushed', 1000, 10, 60_000),
  heartbeatCacheEntries: whole(
    'LICENSOR_HEARTBEAT_CACHE_ENTRIES',
    'activations whose heartbeat view is kept in memory, coherent with the database (`0`: read on every beat, and products and webhook endpoints on every use; docs/performance.md)',
    50_000,
    0,
    10_000_000,
  ),
  logLevel: oneOf('LICENSOR_LOG_LEVEL', 'pino level (`silent` … `debug`)', LOG_LEVELS, 'info'),
  keyEncryptionKey: setting<Buffer | undefined>({
    name: 'LICENSOR_KEY_ENCRYPTION_KEY',
    describe:
      '32 bytes (64 hex digits or base64, e.g. `openssl rand -hex 32`) that seal the signing keys in the database (AES-256-GCM); every process needs the same one; `licensor serve` warns while it is unset',
    default: undefined,
    defaultText: 'unset: keys stored unsealed (PEM)',
    parse(raw) {
      const bytes = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(raw) ? Buffer.from(raw, 'base64') : null;
      if (!bytes || bytes.length !== 32) throw new SettingProblem('must be 32 random bytes as 64 hex digits or base64 (e.g. openssl rand -hex 32)');
      return bytes;
    },
    mask: () => MASKED,
  }),
  metricsToken: token(
    'LICENSOR_METRICS_TOKEN',
    'bearer token `/metrics` requires (≥ 16 characters)',
    '– : open while `LICENSOR_HOST` is loopback (127.0.0.0/8, `::1`); on any other address `/metrics` answers `403 metrics_token_not_configured` and `licensor serve` warns',
  ),
  trustProxy: setting<boolean | number | string>({
    name: 'LICENSOR_TRUST_PROXY',
    describe: 'honour `X-Forwarded-For` from a reverse proxy: `true`, a hop count, or addresses and subnets such as `loopback, 10.0.0.0/8`',
    default: false,
    defaultText: '`false`',
    parse(raw) {
      if (raw === 'false') return false;
      if (raw === 'true') return true;
      if (/^\d+$/.test(raw)) return Number(raw);
      const bad = list(raw).filter((e) => !isProxyEntry(e));
      if (bad.length > 0) {
        throw new SettingProblem(
          `must be true, false, a hop count or a list of loopback, linklocal, uniquelocal, addresses and subnets (not ${bad.map((b) => JSON.stringify(b)).join(', ')})`,
        );
      }
      return raw;
    },
  }),
  headersTimeoutMs: whole('LICENSOR_HEADERS_TIMEOUT_MS', 'longest a client may take to send request headers', 10_000, 100, 300_000),
  requestTimeoutMs: whole('LICENSOR_REQUEST_TIMEOUT_MS', 'longest a client may take to send a whole request', 30_000, 100, 600_000),
  shutdownGraceMs: whole(
    'LICENSOR_SHUTDOWN_GRACE_MS',
    'on SIGTERM, how long to keep serving with `/readyz` at 503 before closing connections',
    1_000,
    0,
    60_000,
  ),
  guessesPerMinute: whole('LICENSOR_GUESSES_PER_MINUTE', 'failed code lookups per client address (IPv6: per /64), per minute', 10, 1, 100_000),
  guessBurst: whole('LICENSOR_GUESS_BURST', 'failed code lookups per client address allowed at once', 20, 1, 1_000_000_000),
  globalGuessesPerMinute: whole(
    'LICENSOR_GLOBAL_GUESSES_PER_MINUTE',
    'failed code lookups of all addresses together, per minute ([docs/reliability.md](docs/reliability.md#limits-and-timeouts-environment))',
    600,
    1,
    1_000_000,
  ),
  globalGuessBurst: whole('LICENSOR_GLOBAL_GUESS_BURST', 'failed code lookups of all addresses together allowed at once', 1000, 1, 1_000_000_000),
  codeAttemptsPerMinute: whole('LICENSOR_CODE_ATTEMPTS_PER_MINUTE', 'attempts on any one code, whatever their outcome, per minute', 120, 1, 100_000),
  codeAttemptBurst: whole('LICENSOR_CODE_ATTEMPT_BURST', 'attempts on any one code allowed at once', 120, 1, 1_000_000_000),
  marketplaceKeys: setting<string[]>({
    name: 'LICENSOR_MARKETPLACE_KEYS',
    describe:
      'Seller Center access keys that sign production-interface callbacks, comma-separated (several during a rotation; [docs/marketplace.md](docs/marketplace.md))',
    default: [],
    defaultText: '–',
    parse(raw) {
      const keys = list(raw);
      if (keys.some((k) => k.length < 8 || /\s/.test(k))) throw new SettingProblem('must be comma-separated access keys of at least 8 characters each');
      return keys;
    },
    mask: (keys) => keys.map(() => '<masked>'),
  }),
  marketplacePath: setting<string>({
    name: 'LICENSOR_MARKETPLACE_PATH',
    describe: 'where the marketplace POSTs its callbacks (the production URL’s path)',
    default: '/produce',
    parse(raw) {
      if (!/^\/[A-Za-z0-9._~/-]*$/.test(raw) || /^\/(v1|api|\.well-known)(\/|$)/.test(raw)) {
        throw new SettingProblem('must be a path such as /produce, outside /v1, /api and /.well-known');
      }
      return raw;
    },
  }),
  marketplaceProduct: text('LICENSOR_MARKETPLACE_PRODUCT', 'the product marketplace instances and adopted codes are issued under', 'marketplace'),
  marketplaceSeats: whole('LICENSOR_MARKETPLACE_SEATS', 'seats of an instance or adopted code until the order says otherwise', 1, 1, 100_000),
  marketplaceInstanceDays: whole('LICENSOR_MARKETPLACE_INSTANCE_DAYS', 'validity of an instance until the marketplace sends an expiry', 30, 1, 36_500),
  marketplaceRequireFingerprint: flag('LICENSOR_MARKETPLACE_REQUIRE_FINGERPRINT', '`getLicenseAsync` refuses a request without a device fingerprint'),
  marketplaceBudgetMs: whole(
    'LICENSOR_MARKETPLACE_BUDGET_MS',
    'how long a callback may work before it answers `000004` and finishes in the background (the marketplace waits 5 s)',
    4000,
    0,
    4900,
  ),
  openApiAksk: keyPairs(
    'LICENSOR_OPENAPI_AKSK',
    '`AK:SK` pairs that sign calls to the marketplace-compatible open API ([docs/marketplace.md](docs/marketplace.md#the-license-open-api-for-your-software)); none: the open API refuses every call (`403`, `92020001`)',
  ),
  openApiAllowUnsigned: flag(
    'LICENSOR_OPENAPI_ALLOW_UNSIGNED',
    '`true`: the open API answers unsigned calls — for testing an integration locally only; `licensor serve` warns while it is on. Not with `LICENSOR_OPENAPI_AKSK`',
  ),
  marketplaceApiUrl: setting<string[]>({
    name: 'LICENSOR_MARKETPLACE_API_URL',
    describe: 'the marketplace’s open API for the calls licensor makes (order/query, license upload, usage push): base URLs tried in order',
    default: DEFAULT_MARKETPLACE_API_URLS,
    defaultText: '`https://mkt.myhuaweicloud.com`, then `https://mkt.myhuaweicloud.cn`',
    parse(raw) {
      const urls = list(raw);
      const bad = urls.length === 0 ? [raw] : urls.filter((url) => !isMarketplaceBase(url));
      if (bad.length > 0) {
        throw new SettingProblem(
          ...(bad.map((url) => `must be comma-separated https:// base URLs (http:// only for a loopback host), not "${url}"`) as [string, ...string[]]),
        );
      }
      return urls.map((u) => u.replace(/\/+$/, ''));
    },
  }),
  marketplaceAksk: setting<{ accessKey: string; secretKey: string } | null>({
    name: 'LICENSOR_MARKETPLACE_AKSK',
    describe: 'the seller’s `AK:SK` that signs licensor’s calls to the marketplace; unset: licensor calls the marketplace not at all',
    default: null,
    defaultText: '–',
    parse(raw) {
      const colon = raw.indexOf(':');
      if (colon <= 0 || colon === raw.length - 1 || /[\s,]/.test(raw)) throw new SettingProblem('must be one AK:SK pair, e.g. AK1234:SK5678');
      return { accessKey: raw.slice(0, colon), secretKey: raw.slice(colon + 1) };
    },
    mask: (pair) => (pair === null ? null : { accessKey: pair.accessKey, secretKey: '<masked>' }),
  }),
  marketplaceApiTimeoutMs: whole('LICENSOR_MARKETPLACE_API_TIMEOUT_MS', 'how long one call to the marketplace may take, per base URL', 10_000, 100, 120_000),
  outboxPollMs: whole(
    'LICENSOR_OUTBOX_POLL_MS',
    'how often the outbox looks for calls to deliver ([docs/operations.md](docs/operations.md))',
    1000,
    10,
    60_000,
  ),
  outboxRetrySeconds: whole(
    'LICENSOR_OUTBOX_RETRY_SECONDS',
    'wait after a first failed delivery; it doubles with each further failure, up to an hour',
    30,
    1,
    3600,
  ),
  outboxGiveUpHours: whole('LICENSOR_OUTBOX_GIVE_UP_HOURS', 'an entry still undelivered this long after it was owed is given up (shown as failed)', 48, 1, 720),
  outboxKeepDays: whole('LICENSOR_OUTBOX_KEEP_DAYS', 'delivered entries are kept this long', 30, 1, 3650),
  webhooksAllowPrivate: flag(
    'LICENSOR_WEBHOOKS_ALLOW_PRIVATE',
    'let webhook endpoints be URLs whose host resolves to loopback, link-local or private addresses ([docs/webhooks.md](docs/webhooks.md)); off: refused when registered and when delivered',
  ),
  webhooksTimeoutMs: whole('LICENSOR_WEBHOOKS_TIMEOUT_MS', 'how long one webhook delivery may take before it counts as failed', 10_000, 100, 60_000),
  webhooksDisableAfterHours: whole(
    'LICENSOR_WEBHOOKS_DISABLE_AFTER_HOURS',
    'a webhook endpoint whose deliveries have failed this long without a success (and 10 times in a row) is switched off',
    24,
    1,
    720,
  ),
} as const;

export const SETTINGS: ReadonlyArray<Setting<unknown>> = Object.values(S) as ReadonlyArray<Setting<unknown>>;

/**
 * Settings that no longer do anything. They are accepted, from the environment and from a file,
 * so that an upgrade does not refuse a configuration that worked; the server warns of them.
 */
export const RETIRED: Readonly<Record<string, string>> = {
  LICENSOR_SWEEP_PARALLEL_BATCHES: 'sweeper batches now go one at a time, in expiry-date order (docs/performance.md)',
};

/** How the README says a setting's default. */
function defaultInWords(setting: Setting<unknown>): string {
  if (setting.defaultText !== undefined) return setting.defaultText;
  const value = setting.default;
  if (value === undefined || value === null) return '–';
  return `\`${Array.isArray(value) ? value.join(',') : String(value)}\``;
}

/**
 * The README's table of settings, from the table above (`npm run readme:settings` writes it;
 * test/config.test.ts holds the README to it).
 */
export function settingsMarkdownTable(): string {
  const rows = SETTINGS.map((s) => `| \`${s.name}\` | ${s.describe} | ${defaultInWords(s)} |`);
  const configRow =
    '| `LICENSOR_CONFIG` | a JSON configuration file (also `--config <file>`); keys are these names in camelCase without `LICENSOR_` (`port`, `databaseUrl`, …); the environment wins over the file | – |';
  return ['| variable | meaning | default |', '|---|---|---|', ...rows, configRow].join('\n');
}
