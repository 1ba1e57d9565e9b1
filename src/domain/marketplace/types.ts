/** The marketplace layer's nouns (koogallery-license-protocol.md §3.6, §2.3). */

/** An online-License instance: one purchased order line, backed by one authorization code. */
export interface MarketplaceInstance {
  /** The businessId of the first newInstance request for the order line (§3.6a). */
  instanceId: string;
  orderId: string;
  orderLineId: string;
  codeId: string;
  /** Created by a debug request (testFlag=1). */
  test: boolean;
  createdAt: number;
}

export type MarketplaceLicenseStatus = 'pending' | 'ready';

/** A license answered (or owed) to getLicenseAsync, kept so that a retry gets the same bytes (§6). */
export interface MarketplaceLicense {
  eventId: string;
  /** SHA-256 hex of the deviceFingerprint exactly as sent ("" hashed when none was sent). */
  fingerprintHash: string;
  instanceId: string;
  codeId: string;
  deviceFingerprint: string | null;
  activationId: string | null;
  /** pending: answered 000004 and still owed; ready: `license` holds the exact bytes answered. */
  status: MarketplaceLicenseStatus;
  license: string | null;
  test: boolean;
  requestedAt: number;
  deliveredAt: number | null;
}

/** What the software reported for one code on one UTC day (§2.3). */
export interface UsageReport {
  codeId: string;
  /** YYYY-MM-DD, UTC. */
  day: string;
  /** Distinct client identities seen that day (software_usage_Info[].id, heartbeatInfo.thirdPartyAccount). */
  ids: string[];
  /** The latest reported total of active clients (software_usage_Info[].active_num), if any. */
  activeNum: number | null;
  reportedAt: number;
}

export interface UsageFilter {
  codeId?: string;
  /** Inclusive YYYY-MM-DD bounds. */
  from?: string;
  to?: string;
  /** Test codes are excluded from usage figures unless asked for. */
  includeTest?: boolean;
}
