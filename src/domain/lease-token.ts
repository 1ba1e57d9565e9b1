import type { DomainContext } from './context';
import type { LeaseClaims } from '@licensor/client/contract';
import type { Activation, CodeStatus, FingerprintHashes, LicenseCode, Product } from './types';

/** Claims of a lease token: declared once, in the wire contract (docs/server.md "Lease tokens"). */
export type { LeaseClaims };

interface LeaseInput {
  issuer: string;
  jti: string;
  product: Product;
  code: LicenseCode;
  status: CodeStatus;
  activationId: string;
  fingerprint: FingerprintHashes;
  now: number;
  leaseSeconds?: number;
  nonce?: string | null;
  /** With the nonce, when the token covers an activation's answer: the hash of the secret it carries. */
  secretHash?: string | null;
}

/** The lease end in epoch ms, exactly as the token's `exp` will say (seconds, never past the license expiry). */
export function leaseEndMs(now: number, leaseSeconds: number, code: Pick<LicenseCode, 'expiresAt'>): number {
  return Math.min(Math.floor(now / 1000) + leaseSeconds, Math.floor(code.expiresAt / 1000)) * 1000;
}

export function buildLeaseClaims(input: LeaseInput): LeaseClaims {
  const iat = Math.floor(input.now / 1000);
  const claims: LeaseClaims = {
    iss: input.issuer,
    aud: input.product.name,
    sub: input.code.id,
    jti: input.jti,
    iat,
    nbf: iat,
    exp: leaseEndMs(input.now, input.leaseSeconds ?? input.product.leaseSeconds, input.code) / 1000,
    license: {
      status: input.status,
      expiresAt: Math.floor(input.code.expiresAt / 1000),
      seats: input.code.seats,
      features: input.code.features,
      seatMode: input.product.seatMode,
    },
    activation: { id: input.activationId, fingerprint: input.fingerprint },
    heartbeat: { intervalSeconds: input.product.heartbeatIntervalSeconds },
  };
  if (input.nonce) claims.nonce = input.nonce;
  if (input.secretHash) claims.activation.secretHash = input.secretHash;
  if (input.product.latestVersion !== null) {
    claims.update = { latestVersion: input.product.latestVersion, minimumVersion: input.product.minimumVersion };
  }
  return claims;
}

/** A signed lease and the claims it carries (what a caller records or shows without decoding the token). */
export interface SignedLease {
  token: string;
  claims: LeaseClaims;
}

/** Signs a fresh lease for an activation with the context's issuer, id source and current key. */
export async function issueLease(
  ctx: Pick<DomainContext, 'issuer' | 'ids' | 'tokens'>,
  lease: {
    product: Product;
    code: LicenseCode;
    status: CodeStatus;
    activation: Pick<Activation, 'id' | 'fingerprint'>;
    now: number;
    leaseSeconds?: number;
    nonce?: string | null;
    secretHash?: string | null;
  },
): Promise<SignedLease> {
  const claims = buildLeaseClaims({
    issuer: ctx.issuer,
    jti: ctx.ids.id(),
    product: lease.product,
    code: lease.code,
    status: lease.status,
    activationId: lease.activation.id,
    fingerprint: lease.activation.fingerprint,
    now: lease.now,
    leaseSeconds: lease.leaseSeconds,
    nonce: lease.nonce,
    secretHash: lease.secretHash,
  });
  return { token: await ctx.tokens.sign(claims), claims };
}
