import type { Knex } from 'knex';
import { Conflict, Unavailable } from '../domain/errors';
import type { HeartbeatView, Repository, Stores } from '../domain/ports';
import type { Product } from '../domain/types';
import { KnexActivationStore } from './activation-store';
import { KnexAdminTokenStore } from './admin-token-store';
import { KnexAuditStore } from './audit-store';
import { KnexChurnStore } from './churn-store';
import { KnexCodeStore } from './code-store';
import { directTransaction } from './direct-sql';
import { isConnectionError, isRetryableConflict, isUniqueViolation, type Database } from './database';
import { KnexIdempotencyStore } from './idempotency-store';
import { KnexKeyStore } from './key-store';
import { keySealer, type KeySealer } from './key-sealing';
import { KnexMarketplaceInstanceStore } from './marketplace/instance-store';
import { KnexMarketplaceLicenseStore } from './marketplace/license-store';
import { KnexNonceStore } from './nonce-store';
import { KnexOutboxStore } from './outbox-store';
import { KnexWebhookStore, type EnabledEndpoint } from './webhook-store';
import type { PreparedHeartbeatReader } from './heartbeat/heartbeat-reader';
import type { RaisedNotices, ViewChangeFeed } from './heartbeat/view-change-feed';
import { forOneTransaction, type FedBy } from './change-fed-cache';
import { KnexProductStore } from './product-store';
import { KnexSweeperProgressStore } from './sweeper-progress-store';
import { KnexUsageReportStore } from './usage-report-store';
import { KnexHeartbeatStatsStore } from './heartbeat/heartbeat-stats-store';

/** What the change feed keeps in memory for the stores (change-fed-cache.ts); null without a feed. */
export interface FedCaches {
  products: FedBy<Product>;
  webhookEndpoints: FedBy<EnabledEndpoint[]>;
}

function storesFor(db: Knex | Knex.Transaction, sealer: KeySealer, fed: FedCaches | null): Stores {
  return {
    adminTokens: new KnexAdminTokenStore(db),
    products: new KnexProductStore(db, fed?.products ?? null),
    codes: new KnexCodeStore(db),
    activations: new KnexActivationStore(db),
    audit: new KnexAuditStore(db, fed?.webhookEndpoints ?? null),
    keys: new KnexKeyStore(db, sealer),
    nonces: new KnexNonceStore(db),
    idempotency: new KnexIdempotencyStore(db),
    marketplaceInstances: new KnexMarketplaceInstanceStore(db),
    marketplaceLicenses: new KnexMarketplaceLicenseStore(db),
    usage: new KnexUsageReportStore(db),
    heartbeatStats: new KnexHeartbeatStatsStore(db),
    churn: new KnexChurnStore(db),
    sweeperProgress: new KnexSweeperProgressStore(db),
    outbox: new KnexOutboxStore(db),
    webhooks: new KnexWebhookStore(db, sealer, fed?.webhookEndpoints ?? null),
  };
}

export class KnexRepository implements Repository {
  readonly adminTokens;
  readonly products;
  readonly codes;
  readonly activations;
  readonly audit;
  readonly keys;
  readonly nonces;
  readonly idempotency;
  readonly marketplaceInstances;
  readonly marketplaceLicenses;
  readonly usage;
  readonly heartbeatStats;
  readonly churn;
  readonly sweeperProgress;
  readonly outbox;
  readonly webhooks;
  private readonly localLocks = new Set<string>();

  constructor(
    private readonly database: Database,
    private readonly heartbeatReader: PreparedHeartbeatReader,
    private readonly sealer: KeySealer = keySealer(undefined),
    /** Told of every commit before the transaction's result is returned: the caches it feeds then hold what was committed. */
    private readonly feed: Pick<ViewChangeFeed, 'raisedBy' | 'committed'> | null = null,
    /** Rows read on every activation or audited write, in memory, kept fresh by the same change feed. */
    private readonly fed: FedCaches | null = null,
  ) {
    // Reads outside a transaction get the same error translation as transactions do.
    const stores = translated(storesFor(database.knex, sealer, fed));
    this.adminTokens = stores.adminTokens;
    this.products = stores.products;
    this.codes = stores.codes;
    this.activations = stores.activations;
    this.audit = stores.audit;
    this.keys = stores.keys;
    this.nonces = stores.nonces;
    this.idempotency = stores.idempotency;
    this.marketplaceInstances = stores.marketplaceInstances;
    this.marketplaceLicenses = stores.marketplaceLicenses;
    this.usage = stores.usage;
    this.heartbeatStats = stores.heartbeatStats;
    this.churn = stores.churn;
    this.sweeperProgress = stores.sweeperProgress;
    this.outbox = stores.outbox;
    this.webhooks = stores.webhooks;
  }

  async transaction<T>(work: (tx: Stores) => Promise<T>): Promise<T> {
    let result: T;
    let raised: Promise<RaisedNotices> | undefined;
    try {
      result = await directTransaction(this.database.knex, async (trx) => {
        const done = await work(
          storesFor(
            trx,
            this.sealer,
            this.fed && { products: forOneTransaction(this.fed.products), webhookEndpoints: forOneTransaction(this.fed.webhookEndpoints) },
          ),
        );
        raised = this.feed?.raisedBy(trx);
        return done;
      });
    } catch (err) {
      throw translate(err);
    }
    // Whoever committed a change sees it on the very next heartbeat, here or in any process.
    await this.feed?.committed(await raised);
    return result;
  }

  /** The hot path's read: a prepared statement on connections of its own, not the query builder. */
  async readForHeartbeat(activationId: string): Promise<HeartbeatView | undefined> {
    try {
      return await this.heartbeatReader.read(activationId);
    } catch (err) {
      throw translate(err);
    }
  }

  async exclusively<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
    if (this.localLocks.has(name)) return undefined;
    this.localLocks.add(name);
    try {
      if (this.database.engine === 'sqlite') return await work();
      return await this.withAdvisoryLock(name, work);
    } finally {
      this.localLocks.delete(name);
    }
  }

  /** A session-level advisory lock on a dedicated connection: released on unlock or if the process dies. */
  private async withAdvisoryLock<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
    const knex = this.database.knex;
    const conn = await knex.client.acquireConnection();
    try {
      const got = await knex.raw('SELECT pg_try_advisory_lock(hashtext(?)) AS ok', [`licensor:${name}`]).connection(conn);
      if (!got.rows[0]?.ok) return undefined;
      try {
        return await work();
      } finally {
        await knex.raw('SELECT pg_advisory_unlock(hashtext(?))', [`licensor:${name}`]).connection(conn);
      }
    } finally {
      await knex.client.releaseConnection(conn);
    }
  }
}

/** Storage failures the domain can name: duplicates become conflicts, a lost database becomes 503. */
export function translate(err: unknown): unknown {
  if (isUniqueViolation(err)) return new Conflict('duplicate', 'a record with the same unique value already exists');
  if (isConnectionError(err)) return new Unavailable('database_unavailable', 'the database is not reachable; try again shortly');
  if (isRetryableConflict(err)) return new Unavailable('database_busy', 'the database refused this change to let a concurrent one finish; try again');
  return err;
}

/** Wraps every store method so storage failures reach the domain as its own errors. */
function translated(stores: Stores): Stores {
  const wrap = <T extends object>(store: T): T =>
    new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result = value.apply(target, args);
          return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(translate(err))) : result;
        };
      },
    });
  return Object.fromEntries(Object.entries(stores).map(([name, store]) => [name, wrap(store)])) as unknown as Stores;
}
