/** What the marketplace layer needs from the configuration (src/config.ts builds it). */
export interface MarketplaceSettings {
  /** The licensor product new instances issue their codes under; it must exist (else 000100). */
  product: string;
  /** Seats of a code issued for a new instance: how many devices getLicenseAsync may bind. */
  seats: number;
  /** Validity of a new instance's code until the marketplace sends an expiry. */
  instanceDays: number;
  /** Answer 000903 to getLicenseAsync without a deviceFingerprint. */
  requireDeviceFingerprint: boolean;
}

/** testFlag=1 requests come from the Seller Center debugger or dial tests (§3.1): marked in the audit trail. */
export function marketplaceActor(testFlag: boolean): string {
  return testFlag ? 'marketplace-test' : 'marketplace';
}
