import type { CodeStatus, FingerprintHashes, MatchStrategy, SeatMode } from '@licensor/client/contract';

// The code statuses and seat modes lease tokens carry are declared once, in the wire contract.
export { CODE_STATUSES, isUsable } from '@licensor/client/contract';
export type { CodeStatus, FingerprintHashes, MatchStrategy, SeatMode };

export type ActivationStatus = 'active' | 'deactivated' | 'culled';

/**
 * Who takes back a floating seat whose heartbeats stopped (docs/policies.md): `eager`, the
 * sweeper as soon as the lease lapses; `soft`, only an activation that needs the seat, so a
 * laptop asleep over a weekend keeps it when nobody else wants it.
 */
export type ReclaimMode = 'eager' | 'soft';

/**
 * What a product does with a container (docs/policies.md "Containers"): `refuse` it (its machine
 * id belongs to its image), or license each `instance` with a floating seat bound to the identity
 * its client keeps.
 */
export type ContainerPolicy = 'refuse' | 'instance';

/** Policies are data on the product, not code branches. */
export interface Product {
  id: string;
  name: string;
  seatMode: SeatMode;
  /** How long a lease token stays valid without a heartbeat; also the floating-seat cull age. */
  leaseSeconds: number;
  heartbeatIntervalSeconds: number;
  matchStrategy: MatchStrategy;
  reclaim: ReclaimMode;
  /** At most this many activations + deactivations of one code per churn period; null = unlimited. */
  churnLimit: number | null;
  churnPeriodSeconds: number;
  /**
   * A machine's enrolment may change one non-anchor component per window, never an anchor
   * (docs/fingerprint.md "Drift, re-enrolment and clones").
   */
  fingerprintChangeWindowSeconds: number;
  containers: ContainerPolicy;
  /** The latest version the operator published, and the oldest one still allowed to run (update notices). */
  latestVersion: string | null;
  minimumVersion: string | null;
  createdAt: number;
}

export interface LicenseCode {
  id: string;
  productId: string;
  /** Normalised form: upper case, no separators. */
  code: string;
  status: CodeStatus;
  /** Registered machines (N). */
  seats: number;
  /** Machines in use at once (M of "N machines, M at a time"); null = all N. */
  maxConcurrent: number | null;
  features: string[];
  expiresAt: number;
  firstActivatedAt: number | null;
  metadata: Record<string, unknown>;
  test: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface Activation {
  id: string;
  codeId: string;
  productId: string;
  fingerprint: FingerprintHashes;
  environment: Record<string, unknown>;
  status: ActivationStatus;
  cloneSuspect: boolean;
  createdAt: number;
  lastHeartbeatAt: number;
  endedAt: number | null;
  /** End of the in-use slot (= its lease token's exp), on codes with maxConcurrent; null otherwise. */
  inUseUntil: number | null;
  /** SHA-256 (hex) of the secret only the activating client holds; null when it proves possession with a lease token. */
  secretHash: string | null;
  /** The last re-enrolment, and the hashes it replaced (docs/fingerprint.md "Drift, re-enrolment and clones"). */
  fingerprintChangedAt: number | null;
  replacedComponents: FingerprintHashes | null;
  /** The last beat whose fingerprint named another machine (an anchor disagreed). */
  foreignBeatAt: number | null;
  /** When beats of two machines were seen alternating; beats are refused since. */
  clonedAt: number | null;
}

export interface AuditEvent {
  id: string;
  at: number;
  actor: string;
  action: string;
  entityType: 'product' | 'code' | 'activation' | 'key' | 'outbox' | 'admin_token' | 'webhook';
  entityId: string;
  codeId: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/** Who asked for a change; recorded in every audit event. */
export type Actor = string;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type KeyAlgorithm = 'EdDSA' | 'ES256';

/** A token signing key. The private half never leaves the server (not in logs, not in answers). */
export interface SigningKey {
  kid: string;
  /** 1 for the first key; each rotation adds one. Unique, so racing rotations cannot both win. */
  generation: number;
  alg: KeyAlgorithm;
  publicJwk: Record<string, unknown>;
  /** Null once the key is retired: a retired key verifies, it never signs again. */
  privateKeyPem: string | null;
  status: 'active' | 'retired';
  createdAt: number;
  retiredAt: number | null;
  /** A retired key stays in the JWKS until every token it signed has expired. */
  publishUntil: number | null;
  /**
   * The previous key's signature over this key's public JWK, made at the rotation that brought it
   * in (client/src/contract/key-endorsement.ts); null for the first key. Published forever beside the JWKS.
   */
  endorsement: string | null;
}

/** A call licensor owes another system, kept until delivered (src/domain/outbox.ts). */
export type OutboxStatus = 'pending' | 'delivered' | 'failed';

export interface OutboxEntry {
  id: string;
  /** Which delivery sends it, e.g. `marketplace.order-query`. */
  kind: string;
  /** Entries of one target are delivered in the order they were enqueued, one at a time. */
  target: string;
  /** Enqueued once per (kind, key); null: no key. */
  key: string | null;
  payload: Record<string, unknown>;
  status: OutboxStatus;
  /** Failed attempts so far. */
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  deliveredAt: number | null;
}

export interface OutboxFilter {
  status?: OutboxStatus;
  kind?: string;
}

/** Entries per kind and status, and the oldest pending one's age: what is owed, at a glance. */
export interface OutboxSummaryRow {
  kind: string;
  status: OutboxStatus;
  count: number;
  /** Creation time of the oldest entry of the group. */
  oldestAt: number;
}

/** The settings of a product's policy an operator may change after creation (src/domain/product-policy-change.ts). */
export const POLICY_SETTINGS = [
  'seatMode',
  'leaseSeconds',
  'heartbeatIntervalSeconds',
  'matchStrategy',
  'reclaim',
  'churnLimit',
  'churnPeriodSeconds',
  'fingerprintChangeWindowSeconds',
  'containers',
] as const;

export type PolicySetting = (typeof POLICY_SETTINGS)[number];

/**
 * What a named admin token may do (docs/operations.md "Admin tokens"), each scope including the one
 * before it: `read` reads everything; `codes` also issues and renews codes, of its products only;
 * `full` does everything, like the bootstrap token.
 */
export const ADMIN_SCOPES = ['read', 'codes', 'full'] as const;
export type AdminScope = (typeof ADMIN_SCOPES)[number];

export interface AdminToken {
  id: string;
  name: string;
  scope: AdminScope;
  /** The products a `codes` token may issue and renew codes for; null for the other scopes. */
  products: string[] | null;
  createdAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

/** An endpoint told of audited events, and its deliveries (src/domain/webhooks.ts). */
export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  /** Event type patterns: exact types, families (`code.*`) or `*`. */
  events: string[];
  /** Signs every delivery (HMAC-SHA256); shown once, at registration. */
  secret: string;
  enabled: boolean;
  /** Failed attempts since the last success, and when the streak began. */
  failureStreak: number;
  failingSince: number | null;
  disabledAt: number | null;
  disabledReason: string | null;
  createdAt: number;
  updatedAt: number;
}

/** What one delivery attempt got back, for the operator's view. */
export interface WebhookAttempt {
  id: string;
  endpointId: string;
  outboxId: string;
  eventId: string;
  at: number;
  durationMs: number;
  ok: boolean;
  statusCode: number | null;
  response: string | null;
  error: string | null;
}

/** A delivery as the operator sees it: the outbox entry and its latest attempt. */
export interface WebhookDelivery {
  entry: OutboxEntry;
  eventId: string;
  eventType: string | null;
  lastAttempt: WebhookAttempt | null;
}
