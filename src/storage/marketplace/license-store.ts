import type { Knex } from 'knex';
import type { MarketplaceLicense, MarketplaceLicenseStatus } from '../../domain/marketplace/types';
import type { MarketplaceLicenseStore } from '../../domain/ports';
import { numberOrNull, toBool } from '../rows';

interface LicenseRow {
  event_id: string;
  fingerprint_hash: string;
  instance_id: string;
  code_id: string;
  device_fingerprint: string | null;
  activation_id: string | null;
  status: string;
  license: string | null;
  test: boolean | number;
  requested_at: number;
  delivered_at: number | null;
  uploaded_at: number | null;
}

function licenseFromRow(row: LicenseRow): MarketplaceLicense {
  return {
    eventId: row.event_id,
    fingerprintHash: row.fingerprint_hash,
    instanceId: row.instance_id,
    codeId: row.code_id,
    deviceFingerprint: row.device_fingerprint,
    activationId: row.activation_id,
    status: row.status as MarketplaceLicenseStatus,
    license: row.license,
    test: toBool(row.test),
    requestedAt: Number(row.requested_at),
    deliveredAt: numberOrNull(row.delivered_at),
    uploadedAt: numberOrNull(row.uploaded_at),
  };
}

export class KnexMarketplaceLicenseStore implements MarketplaceLicenseStore {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async find(eventId: string, fingerprintHash: string): Promise<MarketplaceLicense | undefined> {
    const row = await this.db<LicenseRow>('marketplace_licenses').where({ event_id: eventId, fingerprint_hash: fingerprintHash }).first();
    return row && licenseFromRow(row);
  }

  async claim(l: MarketplaceLicense): Promise<boolean> {
    // Insert-if-absent on the (event_id, fingerprint_hash) key: of racing retries exactly one does the work.
    const inserted = await this.db('marketplace_licenses')
      .insert({
        event_id: l.eventId,
        fingerprint_hash: l.fingerprintHash,
        instance_id: l.instanceId,
        code_id: l.codeId,
        device_fingerprint: l.deviceFingerprint,
        activation_id: l.activationId,
        status: l.status,
        license: l.license,
        test: l.test,
        requested_at: l.requestedAt,
        delivered_at: l.deliveredAt,
      })
      .onConflict(['event_id', 'fingerprint_hash'])
      .ignore()
      .returning('event_id');
    return (inserted as unknown[]).length > 0;
  }

  async takeOver(eventId: string, fingerprintHash: string, staleBefore: number, now: number): Promise<boolean> {
    const n = await this.db('marketplace_licenses')
      .where({ event_id: eventId, fingerprint_hash: fingerprintHash, status: 'pending' })
      .andWhere('requested_at', '<', staleBefore)
      .update({ requested_at: now });
    return n > 0;
  }

  async abandon(eventId: string, fingerprintHash: string): Promise<void> {
    await this.db('marketplace_licenses').where({ event_id: eventId, fingerprint_hash: fingerprintHash, status: 'pending' }).delete();
  }

  async deliver(eventId: string, fingerprintHash: string, license: string, activationId: string | null, now: number): Promise<void> {
    await this.db('marketplace_licenses')
      .where({ event_id: eventId, fingerprint_hash: fingerprintHash, status: 'pending' })
      .update({ status: 'ready', license, activation_id: activationId, delivered_at: now });
  }

  async markUploaded(eventId: string, fingerprintHash: string, now: number): Promise<boolean> {
    const n = await this.db('marketplace_licenses')
      .where({ event_id: eventId, fingerprint_hash: fingerprintHash })
      .whereNull('uploaded_at')
      .update({ uploaded_at: now });
    return n > 0;
  }

  async list(filter: { status?: MarketplaceLicenseStatus }, limit: number): Promise<MarketplaceLicense[]> {
    const q = this.db<LicenseRow>('marketplace_licenses').select('*');
    if (filter.status) q.where('status', filter.status);
    return (
      await q
        .orderBy([
          { column: 'requested_at', order: 'desc' },
          { column: 'event_id', order: 'desc' },
        ])
        .limit(limit)
    ).map(licenseFromRow);
  }
}
