import type { CodeStatus, FingerprintHashes, LicenseCode, Product, SeatMode } from './types';

/** Claims of a lease token (PRODUCT.md §5). Times are seconds since the epoch, as JWT wants. */
export interface LeaseClaims {
  iss: string;
  aud: string;
  sub: string;
  jti: string;
  iat: number;
  nbf: number;
  /** The lease end; never past the license expiry. */
  exp: number;
  license: {
    status: CodeStatus;
    expiresAt: number;
    seats: number;
    features: string[];
    seatMode: SeatMode;
  };
  activation: {
    id: string;
    fingerprint: FingerprintHashes;
  };
  heartbeat: { intervalSeconds: number };
}

/** Signs and checks lease tokens. Implemented in src/tokens with cached key objects. */
export interface LeaseTokens {
  sign(claims: LeaseClaims): string;
  /**
   * Verifies the signature against every published key but ignores the time claims:
   * a lapsed token still proves which activation a client holds (deactivation).
   */
  verifyHolder(token: string): LeaseClaims | null;
}

export interface LeaseInput {
  issuer: string;
  jti: string;
  product: Product;
  code: LicenseCode;
  status: CodeStatus;
  activationId: string;
  fingerprint: FingerprintHashes;
  now: number;
  leaseSeconds?: number;
}

export function buildLeaseClaims(input: LeaseInput): LeaseClaims {
  const iat = Math.floor(input.now / 1000);
  const leaseEnd = iat + (input.leaseSeconds ?? input.product.leaseSeconds);
  const licenseEnd = Math.floor(input.code.expiresAt / 1000);
  return {
    iss: input.issuer,
    aud: input.product.name,
    sub: input.code.id,
    jti: input.jti,
    iat,
    nbf: iat,
    exp: Math.min(leaseEnd, licenseEnd),
    license: {
      status: input.status,
      expiresAt: licenseEnd,
      seats: input.code.seats,
      features: input.code.features,
      seatMode: input.product.seatMode,
    },
    activation: { id: input.activationId, fingerprint: input.fingerprint },
    heartbeat: { intervalSeconds: input.product.heartbeatIntervalSeconds },
  };
}
