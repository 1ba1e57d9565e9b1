import type {
  Activation,
  ActivationStatus,
  AuditEvent,
  CodeStatus,
  FingerprintHashes,
  LicenseCode,
  OutboxEntry,
  OutboxFilter,
  OutboxSummaryRow,
  Page,
  PolicySetting,
  AdminToken,
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
  Product,
  SigningKey,
} from './types';
import type { LeaseClaims } from '@licensor/client/contract';
import type { MarketplaceInstance, MarketplaceLicense, MarketplaceLicenseStatus, OrderTerms, UsageFilter, UsageReport } from './marketplace/types';

/** Signs and checks lease tokens. Implemented in src/tokens with cached key objects. */
export interface LeaseTokens {
  /** Resolves when signed; the signature may be computed off the event loop (src/tokens/signature-scheduler.ts). */
  sign(claims: LeaseClaims): Promise<string>;
  /**
   * Verifies the signature against every published key but ignores the time claims:
   * a lapsed token still proves which activation a client holds (deactivation).
   */
  verifyHolder(token: string): Promise<LeaseClaims | null>;
}

/** What the domain needs from storage. Implemented in src/storage; the domain never sees SQL. */

export interface ProductStore {
  insert(product: Product): Promise<void>;
  findById(id: string): Promise<Product | undefined>;
  findByName(name: string): Promise<Product | undefined>;
  list(): Promise<Product[]>;
  setVersions(id: string, latestVersion: string | null, minimumVersion: string | null): Promise<void>;
  /** Reads a product under a lock held until the transaction ends (policy changes apply one at a time). */
  lockByName(name: string): Promise<Product | undefined>;
  /** Stores the policy settings of a changed product (src/domain/product-policy-change.ts). */
  updatePolicy(id: string, policy: Pick<Product, PolicySetting>): Promise<void>;
}

export interface CodeFilter {
  productId?: string;
  status?: CodeStatus;
  /** Matches the start of the normalised code. */
  codePrefix?: string;
  /** Or the start of a code the marketplace made, as written (docs/marketplace.md "Codes the marketplace made"). */
  exactPrefix?: string;
  id?: string;
  test?: boolean;
}

/** One anchor component's hash, as a machine's fingerprint holds it (anchorEntries). */
export interface AnchorEntry {
  component: string;
  hash: string;
}

/** A code locked for a seat, and what the seat is decided on (CodeStore.lockForSeat). */
export interface SeatLock {
  code: LicenseCode;
  activeSeats: number;
  /** The live activations of the code's product that hold one of the machine's anchors. */
  holders: Activation[];
}

export interface CodeStore {
  insert(code: LicenseCode): Promise<void>;
  findById(id: string): Promise<LicenseCode | undefined>;
  /** The codes of these ids that exist, in one read (a page of records that name codes). */
  findByIds(ids: readonly string[]): Promise<LicenseCode[]>;
  findByCode(normalized: string): Promise<LicenseCode | undefined>;
  /**
   * Takes the code's write lock for the rest of the transaction and returns its current row.
   * Racing activations on one code serialise here (both engines).
   */
  lockForUpdate(id: string): Promise<LicenseCode | undefined>;
  /** Takes the code's write lock, as lockForUpdate does, for a transaction that needs nothing of its row. */
  lock(id: string): Promise<void>;
  /**
   * Locks the code a client named, as lockForUpdate does, and reads under that lock what a seat
   * is decided on: its live seats, and the live activations of its product that hold any of
   * the machine's `anchors` (ActivationStore.findActiveByAnchors)
   * (docs/performance.md#an-activation-asks-the-database-few-questions).
   */
  lockForSeat(normalized: string, anchors: readonly AnchorEntry[]): Promise<SeatLock | undefined>;
  update(
    id: string,
    patch: Partial<Pick<LicenseCode, 'status' | 'expiresAt' | 'seats' | 'features' | 'firstActivatedAt' | 'metadata'>>,
    now: number,
  ): Promise<void>;
  list(filter: CodeFilter, limit: number, cursor: string | null): Promise<Page<LicenseCode>>;
  /**
   * The sweeper's bulk expiry: takes the first `limit` codes after `after` in expiry-date order
   * that are issued or alive and due by `now`, moves them to expired and writes each one's
   * `code.expired` audit event (before/after status, by `actor`), in the caller's transaction,
   * without a round trip per code. A code another transaction holds is waited for, then taken only
   * if it is still due.
   */
  expireDue(after: ExpiryPlace, now: number, limit: number, actor: string): Promise<SweepBatch>;
  /**
   * The sweeper's bulk release, in the same way: moves up to `limit` codes after `after` that
   * expired before `cutoff` to released, ends their live activations, and writes a `code.released`
   * event for each code and an `activation.released` event for each ended activation.
   */
  releaseExpired(after: ExpiryPlace, cutoff: number, now: number, limit: number, actor: string): Promise<SweepBatch>;
}

/** A place in the codes' expiry-date order, (expires_at, id): where a sweeper batch ended. */
export interface ExpiryPlace {
  expiresAt: number;
  id: string;
}

/** What one sweeper batch did: how many codes it moved, and the last one it took (null: none were left). */
export interface SweepBatch {
  moved: number;
  last: ExpiryPlace | null;
}

/**
 * How far the sweeper's runs got, kept in the database for whichever process sweeps next
 * (src/domain/sweeper.ts): every code due by `expiredThrough` was expired, every code expired
 * before `releasedThrough` released, and the last run that read every date was at `fullPassAt`.
 */
export interface SweepProgress {
  expiredThrough: number | null;
  releasedThrough: number | null;
  fullPassAt: number | null;
}

export interface SweeperProgressStore {
  /** Nothing yet: all null. */
  read(): Promise<SweepProgress>;
  write(progress: SweepProgress): Promise<void>;
}

export interface ActivationStore {
  insert(activation: Activation): Promise<void>;
  findById(id: string): Promise<Activation | undefined>;
  listByCode(codeId: string, status?: ActivationStatus): Promise<Activation[]>;
  countActive(codeId: string): Promise<number>;
  /** Culls the code's floating activations whose lease has lapsed (at most `limit`, longest-silent first); returns their ids. */
  cullLapsedOnCode(codeId: string, now: number, limit?: number): Promise<string[]>;
  /** Live activations of the code holding an in-use slot at `now`, other than `exceptId`, and the earliest slot end among them. */
  inUseSlots(codeId: string, now: number, exceptId: string | null): Promise<{ count: number; earliestEnd: number | null }>;
  /** Gives an active activation the in-use slot until `until` and records the beat; false when it is no longer active. */
  holdSlot(id: string, now: number, until: number): Promise<boolean>;
  /** Ends an activation if it is still active; false when it was not. */
  end(id: string, status: Exclude<ActivationStatus, 'active'>, now: number): Promise<boolean>;
  endAllForCode(codeId: string, status: Exclude<ActivationStatus, 'active'>, now: number): Promise<string[]>;
  /** Stores a re-enrolled fingerprint, what it replaced and when (and re-indexes its anchors). */
  reEnrol(id: string, fingerprint: FingerprintHashes, replaced: FingerprintHashes, at: number): Promise<void>;
  /** Replaces the hash of the activation's secret (a new one at every activation of the machine). */
  setSecret(id: string, secretHash: string): Promise<void>;
  /** Records a beat whose fingerprint named another machine. */
  noteForeignBeat(id: string, at: number): Promise<void>;
  /** Marks the activation cloned (beats alternating between machines); false when it already was. */
  markCloned(id: string, at: number): Promise<boolean>;
  markCloneSuspect(ids: string[]): Promise<void>;
  /** Live activations of a product that share an anchor hash with the given fingerprint. */
  findActiveByAnchors(productId: string, anchors: readonly AnchorEntry[]): Promise<Activation[]>;
  /**
   * Synchronous liveness write, used when a lease is close to lapsing so it cannot race the culler.
   * Returns false when the activation is no longer active.
   */
  touch(id: string, at: number): Promise<boolean>;
  /** Coalesced liveness writes: the latest beat per activation. */
  touchMany(beats: ReadonlyMap<string, number>): Promise<void>;
  /** Floating activations whose last beat is older than their product's lease. */
  findLapsedFloating(now: number, limit: number): Promise<Activation[]>;
  /** Culls only those whose last beat is still older than the cutoff (a late beat wins). */
  cullIfLapsed(ids: string[], now: number): Promise<string[]>;
  /** Culls a floating product's activations whose lease has lapsed; returns them (id and code). */
  cullLapsedOfProduct(productId: string, now: number): Promise<Array<{ id: string; codeId: string }>>;
  /** Live activations of a product that are container instances (their fingerprint has the instance component). */
  countActiveContainers(productId: string): Promise<number>;
}

/** The joined row the heartbeat needs, read in one query. */
export interface HeartbeatView {
  activation: Activation;
  code: LicenseCode;
  product: Product;
}

interface HeartbeatReader {
  readForHeartbeat(activationId: string): Promise<HeartbeatView | undefined>;
}

export interface AuditFilter {
  codeId?: string;
  entityId?: string;
  action?: string;
}

export interface AuditStore {
  insert(events: AuditEvent[]): Promise<void>;
  list(filter: AuditFilter, limit: number, cursor: string | null): Promise<Page<AuditEvent>>;
}

export interface KeyStore {
  /** False when a key of that generation already exists (another process rotated first). */
  insert(key: SigningKey): Promise<boolean>;
  list(): Promise<SigningKey[]>;
  /** Retires a key and drops its private half: from now on it only verifies. */
  retire(kid: string, at: number, publishUntil: number): Promise<void>;
  /** Retired keys still holding a private half (databases from before retirement dropped it) lose it; their kids. */
  dropRetiredPrivateHalves(): Promise<string[]>;
  /** With a key-encryption key configured, seals every private half stored unsealed; their kids. */
  sealUnsealed(): Promise<string[]>;
}

/** Request nonces seen, shared by every server process (docs/marketplace.md §3.2). */
export interface NonceStore {
  /**
   * Records the nonce unless an unexpired record of it exists; false means a replay. Atomic across
   * processes: the nonce is the table's unique key (insert-if-absent, never check-then-insert).
   */
  claim(nonce: string, seenAt: number, expiresAt: number): Promise<boolean>;
  /** Deletes records whose expiry has passed; returns how many. */
  pruneExpired(now: number): Promise<number>;
}

/**
 * One refilling budget of attempts: `burst` at most, one more every `intervalMs` (the code-guessing
 * guard, src/http/rate-limit.ts). Keys name what is counted: an address, a code, all addresses.
 */
export interface BudgetRule {
  key: string;
  intervalMs: number;
  burst: number;
}

/**
 * The guessing guard's budgets. Across server processes on PostgreSQL (a table), in memory on
 * SQLite (one server process per file). Chosen in src/storage/guess-budget-store.ts.
 */
export interface GuessBudgetStore {
  /**
   * Takes one attempt from every budget named, or from none of them: the rules that had nothing
   * left (empty when all were taken). Atomic per budget across processes.
   */
  take(rules: readonly BudgetRule[], now: number): Promise<BudgetRule[]>;
  /** Gives one attempt back to each budget (an attempt that turned out not to be a guess). */
  giveBack(rules: readonly BudgetRule[], now: number): Promise<void>;
}

/** Keys of requests already applied (§6), by scope. */
export interface IdempotencyStore {
  /** Inserts the record unless the scope+key exists; false when it does (the request was applied before). */
  claim(scope: string, key: string, requestHash: string, now: number): Promise<boolean>;
}

export interface MarketplaceInstanceStore {
  /** False when an instance for the same order line (or id) exists already; nothing is written then. */
  insert(instance: MarketplaceInstance): Promise<boolean>;
  findById(instanceId: string): Promise<MarketplaceInstance | undefined>;
  findByOrder(orderId: string, orderLineId: string): Promise<MarketplaceInstance | undefined>;
  findByCode(codeId: string): Promise<MarketplaceInstance | undefined>;
  /** Stores what order/query said of the instance's order line. */
  recordOrder(instanceId: string, terms: OrderTerms): Promise<void>;
  /** Instances whose order line is charged in one of these modes (ON_DEMAND, …). */
  listByChargingMode(modes: readonly string[]): Promise<MarketplaceInstance[]>;
  list(filter: { test?: boolean }, limit: number, cursor: string | null): Promise<Page<MarketplaceInstance>>;
}

export interface MarketplaceLicenseStore {
  find(eventId: string, fingerprintHash: string): Promise<MarketplaceLicense | undefined>;
  /** Inserts a pending row unless one exists for the event+fingerprint; true when this call inserted it. */
  claim(row: MarketplaceLicense): Promise<boolean>;
  /** Takes over a pending row whose worker went quiet (requested before `staleBefore`); true when taken. */
  takeOver(eventId: string, fingerprintHash: string, staleBefore: number, now: number): Promise<boolean>;
  /** Drops a pending claim whose work failed, so the next retry tries again at once. */
  abandon(eventId: string, fingerprintHash: string): Promise<void>;
  /** Stores the license bytes, unless the row is ready already (the first delivery wins). */
  deliver(eventId: string, fingerprintHash: string, license: string, activationId: string | null, now: number): Promise<void>;
  /** Records that the license was uploaded to the marketplace; false when it was before (the first upload's time is kept). */
  markUploaded(eventId: string, fingerprintHash: string, now: number): Promise<boolean>;
  list(filter: { status?: MarketplaceLicenseStatus }, limit: number): Promise<MarketplaceLicense[]>;
}

export interface UsageReportStore {
  find(codeId: string, day: string): Promise<UsageReport | undefined>;
  /** Inserts or replaces the report for the code and day. */
  save(report: UsageReport): Promise<void>;
  /** Newest day first. */
  list(filter: UsageFilter, limit: number): Promise<UsageReport[]>;
}

/** One product's heartbeats in one minute (`minute` = its start, epoch ms). */
export interface BeatCount {
  minute: number;
  productId: string;
  beats: number;
}

/** A bucket of the heartbeat chart: beats summed, active seats at their highest sample (null: none taken). */
export interface HeartbeatStatsBucket {
  start: number;
  beats: number;
  activeSeats: number | null;
}

/** Heartbeats and active seats per product per minute, for the dashboard's chart. */
/** A seat change that counts against the code's churn limit (docs/policies.md). */
export interface ChurnEvent {
  id: string;
  codeId: string;
  activationId: string;
  kind: 'activation' | 'deactivation';
  at: number;
}

export interface ChurnStore {
  record(event: ChurnEvent): Promise<void>;
  /** Times of the code's events after `since`, oldest first. */
  timesSince(codeId: string, since: number): Promise<number[]>;
  /** Deletes events before the cutoff; returns how many went. */
  pruneBefore(cutoff: number): Promise<number>;
}

export interface HeartbeatStatsStore {
  /** Adds the counts to the minutes' totals; several server processes add to the same rows. */
  addBeats(counts: BeatCount[]): Promise<void>;
  /** Stores every product's number of active seats for the minute; a later sample replaces it. */
  sampleActiveSeats(minute: number): Promise<void>;
  /** Buckets of `stepMs` in [from, to) that hold data, oldest first, over one product or all. */
  series(query: { productId?: string; from: number; to: number; stepMs: number }): Promise<HeartbeatStatsBucket[]>;
  /** Deletes the minutes before the cutoff; returns how many rows went. */
  pruneBefore(minute: number): Promise<number>;
}

/** Calls owed to other systems (src/domain/outbox.ts), shared by every server process. */
export interface OutboxStore {
  /** Inserts the entry unless one of the same kind and key exists; false then (nothing is written). */
  enqueue(entry: OutboxEntry): Promise<boolean>;
  /**
   * Claims for `owner`, until `leaseUntil`, up to `limit` entries that are due: pending, due by
   * `now`, not claimed by a live lease, each the first pending entry of its target. Atomic across
   * processes: an entry is claimed by one at a time. Oldest id first.
   */
  claim(owner: string, now: number, leaseUntil: number, limit: number): Promise<OutboxEntry[]>;
  /** Marks an entry `owner` holds delivered; false when its claim was lost (lapsed and taken). */
  markDelivered(id: string, owner: string, now: number): Promise<boolean>;
  /**
   * Counts a failed attempt of an entry `owner` holds and records the error: due again at
   * `retryAt`, or failed for good when it is null. Undefined when the claim was lost.
   */
  markAttemptFailed(id: string, owner: string, now: number, error: string, retryAt: number | null): Promise<OutboxEntry | undefined>;
  /** A failed entry pending again, due now, attempts from zero; undefined when it was not failed. */
  requeue(id: string, now: number): Promise<OutboxEntry | undefined>;
  find(id: string): Promise<OutboxEntry | undefined>;
  findByKey(kind: string, key: string): Promise<OutboxEntry | undefined>;
  /** Newest first. */
  list(filter: OutboxFilter, limit: number, cursor: string | null): Promise<Page<OutboxEntry>>;
  summary(): Promise<OutboxSummaryRow[]>;
  /** Deletes delivered entries delivered before the cutoff; returns how many. */
  pruneDelivered(before: number): Promise<number>;
}

export interface AdminTokenStore {
  /** Stores a token's record with the SHA-256 (hex) of the token. */
  insert(token: AdminToken, tokenHash: string): Promise<void>;
  findByName(name: string): Promise<AdminToken | undefined>;
  findByHash(tokenHash: string): Promise<AdminToken | undefined>;
  list(): Promise<AdminToken[]>;
  revoke(id: string, at: number): Promise<void>;
  noteUse(id: string, at: number): Promise<void>;
}

/**
 * Webhook endpoints and what their deliveries got back (src/domain/webhooks.ts). The deliveries
 * themselves are outbox entries, enqueued by the audit store with every event it writes.
 */
export interface WebhookStore {
  insert(endpoint: WebhookEndpoint): Promise<void>;
  find(id: string): Promise<WebhookEndpoint | undefined>;
  list(): Promise<WebhookEndpoint[]>;
  update(endpoint: WebhookEndpoint): Promise<void>;
  delete(id: string): Promise<void>;
  /** The audit event a delivery announces. */
  event(id: string): Promise<AuditEvent | undefined>;
  recordAttempt(attempt: WebhookAttempt): Promise<void>;
  /** Deletes attempts made before the cutoff; returns how many. */
  pruneAttempts(before: number): Promise<number>;
  /** A success ends the endpoint's failure streak. */
  noteSuccess(id: string, now: number): Promise<void>;
  /** A failure lengthens it (starting it at `now`); the endpoint as it is now. */
  noteFailure(id: string, now: number): Promise<WebhookEndpoint | undefined>;
  /** Switches an enabled endpoint off; false when it was not enabled (another process did it first). */
  disable(id: string, now: number, reason: string): Promise<boolean>;
  /** The endpoint's deliveries, newest first, each with its latest attempt. */
  deliveries(endpointId: string, limit: number): Promise<WebhookDelivery[]>;
}

export interface Stores {
  adminTokens: AdminTokenStore;
  products: ProductStore;
  keys: KeyStore;
  codes: CodeStore;
  activations: ActivationStore;
  audit: AuditStore;
  nonces: NonceStore;
  idempotency: IdempotencyStore;
  marketplaceInstances: MarketplaceInstanceStore;
  marketplaceLicenses: MarketplaceLicenseStore;
  usage: UsageReportStore;
  heartbeatStats: HeartbeatStatsStore;
  churn: ChurnStore;
  sweeperProgress: SweeperProgressStore;
  outbox: OutboxStore;
  webhooks: WebhookStore;
}

/** Storage as the domain sees it: reads outside a transaction, changes inside one. */
export interface Repository extends Stores, HeartbeatReader {
  transaction<T>(work: (tx: Stores) => Promise<T>): Promise<T>;
  /** Runs work only when no other process is running it (the sweeper). Returns undefined when skipped. */
  exclusively<T>(name: string, work: () => Promise<T>): Promise<T | undefined>;
}

/** Liveness recorded off the request path and written in batches. */
export interface HeartbeatRecorder {
  record(activationId: string, at: number): void;
  /** Counts a beat for the per-minute statistics (in memory; written with the next flush). */
  countBeat(productId: string, at: number): void;
  flush(): Promise<void>;
}
