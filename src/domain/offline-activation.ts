import { LICENSE_FILE_FORMAT, type LicenseFile } from '@licensor/client/contract';
import { auditEvent } from './audit';
import type { DomainContext } from './context';
import { Conflict } from './errors';
import { issueLease, type SignedLease } from './lease-token';
import { bindSeat } from './seat-allocation';
import type { Actor, FingerprintHashes } from './types';

/** An activation request file from an air-gapped machine (client/src/contract/license-files.ts), validated. */
interface OfflineActivationRequest {
  product: string;
  code: string;
  fingerprint: FingerprintHashes;
  environment?: Record<string, string | number | boolean | null>;
}

interface OfflineLeasePolicy {
  /** The lease the operator asked for. */
  leaseSeconds: number;
  /** Never longer than the signing key stays published (LICENSOR_MAX_TOKEN_LIFETIME_DAYS). */
  maxLeaseSeconds: number;
}

/**
 * Air-gapped activation (docs/server.md#air-gapped-activation): takes a seat for the machine in the
 * request, exactly as an online activation would (same seat rules, same machine gets its seat
 * back), and signs a lease token with the current key whose lease is long. The lease never passes
 * the license expiry (buildLeaseClaims) nor the key's publication window. Floating seats are
 * refused: they are leases kept alive by heartbeats, which this machine cannot send, so the sweeper
 * would free the seat while the file still says valid.
 */
export async function respondToActivationRequest(
  ctx: DomainContext,
  request: OfflineActivationRequest,
  policy: OfflineLeasePolicy,
  actor: Actor,
): Promise<LicenseFile> {
  const activation = { code: request.code, fingerprint: request.fingerprint, environment: { ...request.environment, activation: 'offline' } };
  const leaseSeconds = Math.max(1, Math.min(policy.leaseSeconds, policy.maxLeaseSeconds));
  let lease: SignedLease | undefined;
  const seat = await bindSeat(ctx, activation, actor, {
    leaseSeconds,
    admit: (product) => {
      if (product.name !== request.product) {
        throw new Conflict('product_mismatch', `the code belongs to product "${product.name}"; the request is for "${request.product}"`, {
          codeProduct: product.name,
          requestProduct: request.product,
        });
      }
      if (product.seatMode === 'floating') {
        throw new Conflict('floating_seat_offline', 'floating seats live on heartbeats; air-gapped activation needs a node-locked product');
      }
    },
    // Signed inside the seat's transaction, so the seat and the record of the file issued for it commit together.
    alongside: async (tx, bound) => {
      lease = await issueLease(ctx, { ...bound, status: bound.code.status, leaseSeconds });
      await tx.audit.insert([
        auditEvent(ctx, bound.now, actor, 'activation.license_file_issued', { type: 'activation', id: bound.activation.id }, bound.code.id, null, {
          jti: lease.claims.jti,
          leaseEndsAt: new Date(lease.claims.exp * 1000).toISOString(),
        }),
      ]);
    },
  });
  const { token, claims } = lease!;
  return {
    format: LICENSE_FILE_FORMAT,
    v: 1,
    product: seat.product.name,
    activationId: seat.activation.id,
    token,
    leaseEndsAt: new Date(claims.exp * 1000).toISOString(),
    licenseExpiresAt: new Date(claims.license.expiresAt * 1000).toISOString(),
    issuedAt: new Date(claims.iat * 1000).toISOString(),
  };
}
