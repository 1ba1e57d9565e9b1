import type {
  Activation,
  ActivationStatus,
  AuditEvent,
  CodeStatus,
  FingerprintHashes,
  LicenseCode,
  Page,
  Product,
  SigningKey,
} from './types';

/** What the domain needs from storage. Implemented in src/storage; the domain never sees SQL. */

export interface ProductStore {
  insert(product: Product): Promise<void>;
  findById(id: string): Promise<Product | undefined>;
  findByName(name: string): Promise<Product | undefined>;
  list(): Promise<Product[]>;
}

export interface CodeFilter {
  productId?: string;
  status?: CodeStatus;
  /** Matches the start of the normalised code. */
  codePrefix?: string;
  id?: string;
  test?: boolean;
}

export interface CodeStore {
  insert(code: LicenseCode): Promise<void>;
  findById(id: string): Promise<LicenseCode | undefined>;
  findByCode(normalized: string): Promise<LicenseCode | undefined>;
  /**
   * Takes the code's write lock for the rest of the transaction and returns its current row.
   * Racing activations on one code serialise here (both engines).
   */
  lockForUpdate(id: string): Promise<LicenseCode | undefined>;
  update(id: string, patch: Partial<Pick<LicenseCode, 'status' | 'expiresAt' | 'seats' | 'features' | 'firstActivatedAt' | 'metadata'>>, now: number): Promise<void>;
  list(filter: CodeFilter, limit: number, cursor: string | null): Promise<Page<LicenseCode>>;
  /** Codes whose date has passed while still issued/alive, oldest first. */
  findDueForExpiry(now: number, limit: number): Promise<LicenseCode[]>;
  findExpiredBefore(cutoff: number, limit: number): Promise<LicenseCode[]>;
  /** Moves the given codes from one status to another; returns the ids that actually moved. */
  transitionMany(ids: string[], from: CodeStatus[], to: CodeStatus, now: number): Promise<string[]>;
  countByStatus(): Promise<Record<CodeStatus, number>>;
}

export interface ActivationStore {
  insert(activation: Activation): Promise<void>;
  findById(id: string): Promise<Activation | undefined>;
  listByCode(codeId: string, status?: ActivationStatus): Promise<Activation[]>;
  /** Ends an activation if it is still active; false when it was not. */
  end(id: string, status: Exclude<ActivationStatus, 'active'>, now: number): Promise<boolean>;
  endAllForCode(codeId: string, status: Exclude<ActivationStatus, 'active'>, now: number): Promise<string[]>;
  replaceFingerprint(id: string, fingerprint: FingerprintHashes): Promise<void>;
  markCloneSuspect(ids: string[]): Promise<void>;
  /** Live activations of a product that share an anchor hash with the given fingerprint. */
  findActiveByAnchors(productId: string, anchors: Array<{ component: string; hash: string }>): Promise<Activation[]>;
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
}

/** The joined row the heartbeat needs, read in one query. */
export interface HeartbeatView {
  activation: Activation;
  code: LicenseCode;
  product: Product;
}

export interface HeartbeatReader {
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
  retire(kid: string, at: number, publishUntil: number): Promise<void>;
}

export interface Stores {
  products: ProductStore;
  keys: KeyStore;
  codes: CodeStore;
  activations: ActivationStore;
  audit: AuditStore;
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
  flush(): Promise<void>;
}
