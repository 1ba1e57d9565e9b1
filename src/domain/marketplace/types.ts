/** The marketplace layer's nouns (docs/marketplace.md §3.6, §2.3). */

/** An online-License instance: one purchased order line, backed by one authorization code. */
export interface MarketplaceInstance {
  /**
   * A name-based id of the order line (instanceIdFor, docs/marketplace.md "newInstance"), the same
   * for every request of it; instances created by earlier versions keep the first request's businessId.
   */
  instanceId: string;
  orderId: string;
  orderLineId: string;
  codeId: string;
  /** Created by a debug request (testFlag=1). */
  test: boolean;
  createdAt: number;
  /** What order/query said of the order line; all null until it answered (or when licensor does not call the marketplace). */
  order: OrderTerms | null;
}

/** An order line's terms as order/query states them. */
export interface OrderTerms {
  /** ON_DEMAND, ONE_TIME, PERIOD or ON_DEMAND_PKG. */
  chargingMode: string | null;
  /** year or month, times periodNumber. */
  periodType: string | null;
  periodNumber: number | null;
  /** productInfo[].linearValue: the quantity bought, which is the code's seats. */
  quantity: number | null;
  checkedAt: number;
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
  /** When licensor uploaded it to the marketplace (owed after a 000004 answer); null: not uploaded. */
  uploadedAt: number | null;
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
