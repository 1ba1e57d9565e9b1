/**
 * The marketplace's open API as licensor calls it (docs/marketplace.md "licensor calls the
 * marketplace"): order/query, the license upload and the usage push. Implemented over HTTP, signed
 * with the seller's AK/SK, in src/outbound/marketplace-client.ts. A call that did not succeed throws
 * DeliveryFailed (src/domain/outbox.ts): permanent when the marketplace refused what was sent.
 */
export interface MarketplaceApi {
  /** GET …/v1/order/query for one order line. */
  queryOrder(orderId: string, orderLineId: string): Promise<OrderLine>;
  /** POST …/v1/market-event/{eventId}/file: the license owed after a 000004 answer. */
  uploadLicense(eventId: string, license: string): Promise<void>;
  /** POST …/v1/isv/usage-data: usage of on-demand instances. */
  pushUsage(records: UsageRecord[]): Promise<void>;
}

/** One order line as order/query describes it. */
export interface OrderLine {
  orderId: string;
  /** NEW, TRIAL, TRIAL_TO_FORMAL, UNSUBSCRIBE, RENEW or CHANGE. */
  orderType: string | null;
  orderLineId: string;
  /** ON_DEMAND, ONE_TIME, PERIOD or ON_DEMAND_PKG. */
  chargingMode: string | null;
  periodType: string | null;
  periodNumber: number | null;
  /** The line's expiry (epoch ms), when the marketplace gives one. */
  expireTime: number | null;
  /** `productInfo[].linearValue`: the quantity bought; null when the product has none. */
  quantity: number | null;
}

/** One usage record (UsagePushData): how much an on-demand instance was used in a period. */
export interface UsageRecord {
  instanceId: string;
  /** Epoch ms: when the record was made, and the period it covers. */
  recordTime: number;
  beginTime: number;
  endTime: number;
  /** Greater than 0, at most 4 decimals. */
  usageValue: number;
  /** licensor's id of the record, the same on every retry: the marketplace's duplicate check. */
  meteringSn: string;
}

/** Charging modes whose usage is pushed (on-demand and on-demand packages). */
export const ON_DEMAND_MODES = ['ON_DEMAND', 'ON_DEMAND_PKG'] as const;
