/** What the marketplace layer needs from the configuration (src/config/index.ts builds it). */
export interface MarketplaceSettings {
  /** The licensor product new instances issue their codes under; it must exist (else 000100). */
  product: string;
  /** Seats of a code issued for a new instance: how many devices getLicenseAsync may bind. */
  seats: number;
  /** Validity of a new instance's code until the marketplace sends an expiry. */
  instanceDays: number;
  /** Answer 000903 to getLicenseAsync without a deviceFingerprint. */
  requireDeviceFingerprint: boolean;
  /** The seller's AK/SK for calls to the marketplace; null: licensor makes none (no order/query, upload or usage push). */
  apiCredentials: { accessKey: string; secretKey: string } | null;
}

/** True when licensor calls the marketplace (docs/marketplace.md "licensor calls the marketplace"). */
export function callsMarketplace(settings: Pick<MarketplaceSettings, 'apiCredentials'>): boolean {
  return settings.apiCredentials !== null;
}

/** testFlag=1 requests come from the Seller Center debugger or dial tests (§3.1): marked in the audit trail. */
export function marketplaceActor(testFlag: boolean): string {
  return testFlag ? 'marketplace-test' : 'marketplace';
}
