import { getCode, renewCode } from '../codes';
import { isUsable } from '../types';
import type { DomainContext } from '../context';
import { Conflict, IllegalTransition, InvalidInput, LicensorError } from '../errors';
import { buildLeaseClaims, type LeaseClaims } from '../lease-token';
import { bindSeat } from '../seat-allocation';
import { fingerprintDigest, hashDeviceFingerprint } from './device-fingerprint-hashes';
import { findInstance } from './instances';
import { marketplaceActor, type MarketplaceSettings } from './settings';
import type { MarketplaceInstance, MarketplaceLicense, MarketplaceLicenseStatus } from './types';

export interface LicenseApplication {
  instanceId: string;
  effectiveTime: number;
  expireTime?: number;
  eventId: string;
  deviceFingerprint?: string;
  testFlag: boolean;
}

type LicenseOutcome = { status: 'ready'; license: string } | { status: 'pending' };

/** A worker that has not delivered within this long is presumed gone; a retry may take the work over. */
/** Licenses the marketplace asked for, newest first, and whether each is ready. */
export function listMarketplaceLicenses(
  ctx: DomainContext,
  filter: { status?: MarketplaceLicenseStatus | undefined },
  limit: number,
): Promise<MarketplaceLicense[]> {
  return ctx.repo.marketplaceLicenses.list(filter, limit);
}

const STALE_APPLICATION_MS = 60_000;

/** Lease tokens must end somewhere; a device-bound license runs to the license expiry instead. */
const UNTIL_LICENSE_END_SECONDS = 100 * 365 * 86_400;

/**
 * getLicenseAsync (docs/marketplace.md §3.6e, §6). The application is remembered by
 * eventId + deviceFingerprint: the first request claims it (insert-if-absent on that key), produces
 * the license and stores its exact bytes; every retry, in any process, answers those bytes.
 * A retry that finds the work still running answers pending (000004).
 *
 * Without a fingerprint the license is the authorization code itself (the software activates
 * online); with one, the device takes a seat and the license is a signed token bound to it.
 */
export async function applyForLicense(ctx: DomainContext, application: LicenseApplication, settings: MarketplaceSettings): Promise<LicenseOutcome> {
  const instance = await findInstance(ctx, application.instanceId);
  const { fingerprint, ...key } = applicationKey(application);
  if (fingerprint === null && settings.requireDeviceFingerprint) {
    throw new InvalidInput('device_fingerprint_required', 'this product binds licenses to a device: send deviceFingerprint');
  }
  const store = ctx.repo.marketplaceLicenses;

  const known = await store.find(key.eventId, key.fingerprintHash);
  if (known?.status === 'ready') return { status: 'ready', license: known.license! };
  const now = ctx.clock.now();
  const claimed = known
    ? await store.takeOver(key.eventId, key.fingerprintHash, now - STALE_APPLICATION_MS, now)
    : await store.claim(pendingRow(instance, application, fingerprint, key.fingerprintHash, now));
  if (!claimed) {
    const current = await store.find(key.eventId, key.fingerprintHash);
    return current?.status === 'ready' ? { status: 'ready', license: current.license! } : { status: 'pending' };
  }

  let produced: { license: string; activationId: string | null };
  try {
    produced = await produceLicense(ctx, instance, application, fingerprint, key.fingerprintHash);
  } catch (err) {
    // Free the claim so the marketplace's retry tries again rather than waiting for the claim to go stale.
    await store.abandon(key.eventId, key.fingerprintHash).catch(() => undefined);
    throw err;
  }
  await store.deliver(key.eventId, key.fingerprintHash, produced.license, produced.activationId, ctx.clock.now());
  const delivered = await store.find(key.eventId, key.fingerprintHash);
  return { status: 'ready', license: delivered?.license ?? produced.license };
}

/** What an application is remembered by (§6: eventId + deviceFingerprint), and the fingerprint as used. */
export function applicationKey(application: Pick<LicenseApplication, 'eventId' | 'deviceFingerprint'>): {
  eventId: string;
  fingerprintHash: string;
  fingerprint: string | null;
} {
  const fingerprint = application.deviceFingerprint?.trim() || null;
  return { eventId: application.eventId, fingerprintHash: fingerprintDigest(fingerprint), fingerprint };
}

function pendingRow(
  instance: MarketplaceInstance,
  application: LicenseApplication,
  fingerprint: string | null,
  fingerprintHash: string,
  now: number,
): MarketplaceLicense {
  return {
    eventId: application.eventId,
    fingerprintHash,
    instanceId: instance.instanceId,
    codeId: instance.codeId,
    deviceFingerprint: fingerprint,
    activationId: null,
    status: 'pending',
    license: null,
    test: application.testFlag || instance.test,
    requestedAt: now,
    deliveredAt: null,
    uploadedAt: null,
  };
}

async function produceLicense(
  ctx: DomainContext,
  instance: MarketplaceInstance,
  application: LicenseApplication,
  fingerprint: string | null,
  fingerprintHash: string,
): Promise<{ license: string; activationId: string | null }> {
  const actor = marketplaceActor(application.testFlag);
  // The marketplace is the authority on the validity it sold (period products carry expireTime).
  if (application.expireTime !== undefined) {
    await outsideValidityOnIllegal(renewCode(ctx, instance.codeId, { expiresAt: application.expireTime }, actor));
  }
  const code = await getCode(ctx, instance.codeId);
  if (!isUsable(code.effectiveStatus)) {
    throw new Conflict('outside_order_validity', `the instance's license is ${code.effectiveStatus}`);
  }
  if (application.effectiveTime >= code.expiresAt) {
    throw new Conflict('outside_order_validity', 'effectiveTime is not before the end of the order validity');
  }
  if (fingerprint === null) return { license: code.displayCode, activationId: null };

  const hashes = hashDeviceFingerprint(fingerprint, code.productName);
  if (Object.keys(hashes).length === 0) {
    throw new InvalidInput('device_fingerprint_invalid', 'deviceFingerprint holds no usable MAC, disk, board or CPU value (MAC|DISK|BOARD|CPU)');
  }
  const request = { code: code.code, fingerprint: hashes, environment: { source: 'marketplace', instanceId: instance.instanceId } };
  // The seat is taken for the license's lease, so an in-use slot (M of N) ends when the license does.
  const seat = await outsideValidityOnIllegal(bindSeat(ctx, request, actor, { leaseSeconds: UNTIL_LICENSE_END_SECONDS }));
  const lease = buildLeaseClaims({
    issuer: ctx.issuer,
    jti: ctx.ids.id(),
    product: seat.product,
    code: seat.code,
    status: seat.code.status,
    activationId: seat.activation.id,
    fingerprint: seat.activation.fingerprint,
    now: seat.now,
    leaseSeconds: UNTIL_LICENSE_END_SECONDS,
  });
  const claims: LeaseClaims & { marketplace: Record<string, string> } = {
    ...lease,
    nbf: Math.max(lease.nbf, Math.floor(application.effectiveTime / 1000)),
    marketplace: { instanceId: instance.instanceId, eventId: application.eventId, deviceFingerprintSha256: fingerprintHash },
  };
  return { license: await ctx.tokens.sign(claims), activationId: seat.activation.id };
}

/** A code that cannot take the change (released, frozen) is outside the order's validity: 000901. */
async function outsideValidityOnIllegal<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof IllegalTransition || (err instanceof LicensorError && err.code === 'illegal_transition')) {
      throw new Conflict('outside_order_validity', err.message, err.details);
    }
    throw err;
  }
}
