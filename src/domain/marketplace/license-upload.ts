import { auditEvent } from '../audit';
import type { DomainContext } from '../context';
import { DeliveryFailed, OUTBOX_ACTOR, owedCall } from '../outbox';
import { applicationKey, type LicenseApplication } from './license-delivery';
import type { MarketplaceApi } from './marketplace-api';
import { licenseUpload, type LicenseUploadPayload } from './owed-calls';
import { callsMarketplace, type MarketplaceSettings } from './settings';

/**
 * After licensor answers getLicenseAsync with 000004, it owes the marketplace the license through
 * the upload API (docs/marketplace.md "Uploads"). Called once the application's work has settled:
 * an application that failed owes nothing (the marketplace's retry is answered the refusal); one
 * still being produced by another process is owed all the same, and its upload waits for it.
 * Owed once per application, however many 000004 answers it got. False when nothing is owed.
 */
export async function oweLicenseUpload(
  ctx: DomainContext,
  application: Pick<LicenseApplication, 'instanceId' | 'eventId' | 'deviceFingerprint' | 'testFlag'>,
  settings: MarketplaceSettings,
): Promise<boolean> {
  if (!callsMarketplace(settings)) return false;
  const { eventId, fingerprintHash } = applicationKey(application);
  const row = await ctx.repo.marketplaceLicenses.find(eventId, fingerprintHash);
  if (!row || row.uploadedAt !== null) return false;
  const payload: LicenseUploadPayload = { instanceId: row.instanceId, eventId, fingerprintHash, test: row.test };
  await ctx.repo.outbox.enqueue(owedCall(ctx, ctx.clock.now(), licenseUpload(payload)));
  return true;
}

/** Delivers an owed license: its exact bytes, as every getLicenseAsync retry answers them. */
export async function uploadOwedLicense(ctx: DomainContext, api: MarketplaceApi, payload: LicenseUploadPayload): Promise<void> {
  const row = await ctx.repo.marketplaceLicenses.find(payload.eventId, payload.fingerprintHash);
  if (!row) throw new DeliveryFailed("the license application is gone: its work failed, and the marketplace's retry is answered why", true);
  if (row.status !== 'ready' || row.license === null) throw new DeliveryFailed('the license is still being produced');
  await api.uploadLicense(payload.eventId, row.license);
  await ctx.repo.transaction(async (tx) => {
    const now = ctx.clock.now();
    if (!(await tx.marketplaceLicenses.markUploaded(payload.eventId, payload.fingerprintHash, now))) return;
    await tx.audit.insert([
      auditEvent(ctx, now, OUTBOX_ACTOR, 'code.license_uploaded', { type: 'code', id: row.codeId }, row.codeId, null, {
        instanceId: row.instanceId,
        eventId: row.eventId,
        activationId: row.activationId,
      }),
    ]);
  });
}
