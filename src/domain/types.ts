import type { FingerprintHashes, MatchStrategy } from '../../client/fingerprint/matching';

export type { FingerprintHashes, MatchStrategy };

/** PRODUCT.md §2: issued → alive → expired → frozen → released (terminal). */
export type CodeStatus = 'issued' | 'alive' | 'expired' | 'frozen' | 'released';
export const CODE_STATUSES: readonly CodeStatus[] = ['issued', 'alive', 'expired', 'frozen', 'released'];

/** PRODUCT.md §4: a node-locked seat is held until deactivation; a floating seat is a lease. */
export type SeatMode = 'node_locked' | 'floating';

export type ActivationStatus = 'active' | 'deactivated' | 'culled';

/** Policies are data on the product, not code branches. */
export interface Product {
  id: string;
  name: string;
  seatMode: SeatMode;
  /** How long a lease token stays valid without a heartbeat; also the floating-seat cull age. */
  leaseSeconds: number;
  heartbeatIntervalSeconds: number;
  matchStrategy: MatchStrategy;
  createdAt: number;
}

export interface LicenseCode {
  id: string;
  productId: string;
  /** Normalised form: upper case, no separators. */
  code: string;
  status: CodeStatus;
  seats: number;
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
}

export interface AuditEvent {
  id: string;
  at: number;
  actor: string;
  action: string;
  entityType: 'product' | 'code' | 'activation' | 'key';
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
  privateKeyPem: string;
  status: 'active' | 'retired';
  createdAt: number;
  retiredAt: number | null;
  /** A retired key stays in the JWKS until every token it signed has expired. */
  publishUntil: number | null;
}
