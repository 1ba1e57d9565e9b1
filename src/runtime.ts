import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from './config';
import { randomIds, systemClock, type Clock, type IdSource } from './domain/clock';
import type { DomainContext } from './domain/context';
import { BackgroundWork } from './domain/marketplace/background-work';
import { ensureSigningKey, secureSigningKeys, type KeyPolicy } from './domain/signing-keys';
import { OWNER_ONLY_DIRECTORY, OWNER_ONLY_FILE, openDatabase, sqliteFiles, type Database } from './storage/database';
import { cachedHeartbeatReader, openHeartbeatReader } from './storage/heartbeat/heartbeat-reader';
import { HeartbeatViewCache } from './storage/heartbeat/heartbeat-view-cache';
import { everyOne, openViewChangeFeed } from './storage/heartbeat/view-change-feed';
import { ChangeFedCache, fedBy } from './storage/change-fed-cache';
import type { Product } from './domain/types';
import type { EnabledEndpoint } from './storage/webhook-store';
import { keySealer } from './storage/key-sealing';
import { CoalescingHeartbeatWriter } from './storage/heartbeat/heartbeat-writer';
import { migrateToLatest } from './storage/migrate';
import { KnexRepository } from './storage/repository';
import { KeyRing } from './tokens/key-ring';
import type { RequestLoad } from './tokens/signature-scheduler';
import { endorseSigningKey, generateSigningKey } from './tokens/key-material';

/** Everything a running licensor holds: shared by the HTTP server and the CLI. */
export interface Runtime {
  config: Config;
  database: Database;
  ctx: DomainContext;
  keyRing: KeyRing;
  keyPolicy: KeyPolicy;
  heartbeats: CoalescingHeartbeatWriter;
  /** Marketplace work answered 000004 and still running; close() waits for it. */
  background: BackgroundWork;
  /** Re-reads signing keys (another process may have rotated). */
  reloadKeys(): Promise<void>;
  /** What this start did to keep keys at rest private, for the start-up log (docs/deploy.md "Signing keys at rest"). */
  atRest: AtRest;
  close(): Promise<void>;
}

export interface AtRest {
  /** Paths that were open to others, with the mode they had and the one they have now (or why not). */
  tightened: string[];
  /** Retired keys whose private half this start dropped (databases from before public-only retirement). */
  dropped: string[];
  /** Keys whose private half this start sealed with LICENSOR_KEY_ENCRYPTION_KEY. */
  sealed: string[];
}

export interface RuntimeOptions {
  clock?: Clock;
  /** The HTTP server's requests in flight: a lone heartbeat is signed inline, others on the thread pool. None: the CLI. */
  requestLoad?: RequestLoad;
  ids?: IdSource;
  onBackgroundError?: (err: unknown) => void;
  /** Receives the database driver's own warnings (e.g. lost connections). */
  onDriverLog?: (level: 'warn' | 'error', message: string) => void;
}

/** Opens the database, migrates it, makes sure a signing key exists, and loads the keys. */
export async function openRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const tightened = tightenDataDirectory(config);
  const database = openDatabase({ databaseUrl: config.databaseUrl, sqliteFile: config.sqliteFile, log: options.onDriverLog });
  try {
    await migrateToLatest(database.knex);
  } catch (err) {
    await database.close();
    throw err;
  }
  const viewCache = config.heartbeatCacheEntries > 0 ? new HeartbeatViewCache(config.heartbeatCacheEntries) : null;
  const products = new ChangeFedCache<Product>('p', true);
  const webhookEndpoints = new ChangeFedCache<EnabledEndpoint[]>('w', false);
  const feed = viewCache && (await openViewChangeFeed(database, everyOne(viewCache, products, webhookEndpoints)));
  const heartbeatReader = viewCache && feed ? cachedHeartbeatReader(openHeartbeatReader(database), viewCache, feed) : openHeartbeatReader(database);
  const repo = new KnexRepository(
    database,
    heartbeatReader,
    keySealer(config.keyEncryptionKey),
    feed,
    feed && { products: fedBy(products, feed), webhookEndpoints: fedBy(webhookEndpoints, feed) },
  );
  const heartbeats = new CoalescingHeartbeatWriter(repo.activations, repo.heartbeatStats, config.heartbeatFlushMs, options.onBackgroundError);
  const keyRing = new KeyRing([], options.requestLoad ?? null);
  const ctx: DomainContext = {
    repo,
    clock: options.clock ?? systemClock,
    ids: options.ids ?? randomIds,
    tokens: keyRing,
    // A recorded beat also refreshes the cached view's liveness, which the database does not signal.
    heartbeats: {
      record: (activationId, at) => {
        heartbeats.record(activationId, at);
        viewCache?.updateLastHeartbeat(activationId, at);
      },
      countBeat: (productId, at) => heartbeats.countBeat(productId, at),
      flush: () => heartbeats.flush(),
    },
    issuer: config.issuer,
  };
  const keyPolicy: KeyPolicy = {
    alg: config.keyAlgorithm,
    maxTokenLifetimeMs: config.maxTokenLifetimeMs,
    generate: generateSigningKey,
    endorse: endorseSigningKey,
  };
  const reloadKeys = async () => keyRing.load(await repo.keys.list());
  let secured: Awaited<ReturnType<typeof secureSigningKeys>>;
  try {
    secured = await secureSigningKeys(ctx);
    await ensureSigningKey(ctx, keyPolicy);
    await reloadKeys();
  } catch (err) {
    // e.g. keys encrypted at rest and no (or the wrong) key-encryption key: say so and let go of the database.
    await heartbeatReader.close();
    await database.close();
    throw err;
  }
  const background = new BackgroundWork(options.onBackgroundError);
  return {
    config,
    database,
    ctx,
    keyRing,
    keyPolicy,
    heartbeats,
    background,
    reloadKeys,
    atRest: { tightened, ...secured },
    async close() {
      await background.settled();
      await heartbeats.close();
      await heartbeatReader.close();
      await database.close();
    },
  };
}

/**
 * The data directory and licensor's files in it are for the owner only: they hold the signing keys
 * (docs/deploy.md "Signing keys at rest"). A directory or file left open to others, by an older
 * licensor or by hand, is tightened here; what was, for the start-up log. One licensor cannot
 * change (another user's) is reported, not fatal: the server can still run.
 */
function tightenDataDirectory(config: Config): string[] {
  const sqlite = config.databaseUrl === undefined;
  const directories = [...new Set([config.dataDir, ...(sqlite ? [dirname(config.sqliteFile)] : [])])];
  const files = [...(sqlite ? sqliteFiles(config.sqliteFile) : []), join(config.dataDir, ADMIN_TOKEN_FILE)];
  const tightened: string[] = [];
  const tighten = (path: string, mode: number) => {
    let had: number;
    try {
      had = statSync(path).mode & 0o777;
    } catch {
      return; // not there (yet): created owner-only when it is
    }
    if ((had & ~mode) === 0) return;
    const octal = (m: number) => m.toString(8).padStart(4, '0');
    try {
      chmodSync(path, mode);
      tightened.push(`${path} ${octal(had)} -> ${octal(mode)}`);
    } catch (err) {
      tightened.push(`${path} ${octal(had)}, left so: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  };
  for (const directory of directories) tighten(directory, OWNER_ONLY_DIRECTORY);
  for (const file of files) tighten(file, OWNER_ONLY_FILE);
  return tightened;
}

const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * The admin token: from the configuration, or generated on first start and kept (0600) in the
 * data directory. `generated` is true only the first time. Start-up says where it is kept, never
 * what it is.
 */
export function resolveAdminToken(config: Config): { token: string; generated: boolean; file: string | null } {
  if (config.adminToken) return { token: config.adminToken, generated: false, file: null };
  const file = join(config.dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), generated: false, file };
  mkdirSync(config.dataDir, { recursive: true, mode: OWNER_ONLY_DIRECTORY });
  const token = randomBytes(24).toString('base64url');
  try {
    writeFileSync(file, token + '\n', { mode: OWNER_ONLY_FILE, flag: 'wx' });
  } catch {
    // Another process wrote it first: use theirs.
    return { token: readFileSync(file, 'utf8').trim(), generated: false, file };
  }
  chmodSync(file, OWNER_ONLY_FILE);
  return { token, generated: true, file };
}
