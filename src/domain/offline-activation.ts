import { LICENSE_FILE_FORMAT, type LicenseFile } from '../../client/activation-request';
import { auditEvent } from './audit';
import { normalizeAuthorizationCode } from './authorization-code';
import type { DomainContext } from './context';
import { Conflict, NotFound } from './errors';
import type { LeaseClaims } from './lease-token';
import { activateMachine } from './seat-allocation';
import type { Actor, FingerprintHashes } from './types';

/** An activation request file from an air-gapped machine (client/activation-request.ts), validated. */
export interface OfflineActivationRequest {
  product: string;
  code: string;
  fingerprint: FingerprintHashes;
  environment?: Record<string, string | number | boolean | null>;
}

export interface OfflineLeasePolicy {
  /** The lease the operator asked for. */
  leaseSeconds: number;
  /** Never longer than the signing key stays published (LICENSOR_MAX_TOKEN_LIFETIME_DAYS). */
  maxLeaseSeconds: number;
}

/**
 * Air-gapped activation (PRODUCT.md §5): takes a seat for the machine in the request, exactly
 * as an online activation would (same seat rules, same machine gets its seat back), and signs
 * a lease token with the current key whose lease is long. The lease never passes the license
 * expiry (buildLeaseClaims) nor the key's publication window.
 * Floating seats are refused: they are leases kept alive by heartbeats, which this machine
 * cannot send, so the sweeper would free the seat while the file still says valid.
 */
export async function respondToActivationRequest(
  ctx: DomainContext,
  request: OfflineActivationRequest,
  policy: OfflineLeasePolicy,
  actor: Actor,
): Promise<LicenseFile> {
  const found = await ctx.repo.codes.findByCode(normalizeAuthorizationCode(request.code));
  if (!found) throw new NotFound('code_not_found', 'no such authorization code');
  const product = await ctx.repo.products.findById(found.productId);
  if (!product) throw new NotFound('product_not_found', 'the code belongs to no product');
  if (product.name !== request.product) {
    throw new Conflict('product_mismatch', `the code belongs to product "${product.name}"; the request is for "${request.product}"`, {
      codeProduct: product.name,
      requestProduct: request.product,
    });
  }
  if (product.seatMode === 'floating') {
    throw new Conflict('floating_seat_offline', 'floating seats live on heartbeats; air-gapped activation needs a node-locked product');
  }
  const leaseSeconds = Math.max(1, Math.min(policy.leaseSeconds, policy.maxLeaseSeconds));
  const result = await activateMachine(
    ctx,
    { code: request.code, fingerprint: request.fingerprint, environment: { ...request.environment, activation: 'offline' } },
    actor,
    { leaseSeconds },
  );
  const claims = JSON.parse(Buffer.from(result.token.split('.')[1]!, 'base64url').toString('utf8')) as LeaseClaims;
  const now = ctx.clock.now();
  await ctx.repo.transaction(async (tx) => {
    await tx.audit.insert([
      auditEvent(ctx, now, actor, 'activation.license_file_issued', { type: 'activation', id: result.activation.id }, result.code.id, null, {
        jti: claims.jti,
        leaseEndsAt: new Date(claims.exp * 1000).toISOString(),
      }),
    ]);
  });
  return {
    format: LICENSE_FILE_FORMAT,
    v: 1,
    product: product.name,
    activationId: result.activation.id,
    token: result.token,
    leaseEndsAt: new Date(claims.exp * 1000).toISOString(),
    licenseExpiresAt: new Date(claims.license.expiresAt * 1000).toISOString(),
    issuedAt: new Date(claims.iat * 1000).toISOString(),
  };
}
