import type { DomainContext } from '../context';
import type { Delivery } from '../outbox';
import { uploadOwedLicense } from './license-upload';
import type { MarketplaceApi } from './marketplace-api';
import { applyOrder } from './orders';
import { LICENSE_UPLOAD, ORDER_QUERY, USAGE_PUSH, type LicenseUploadPayload, type OrderQueryPayload, type UsagePushPayload } from './owed-calls';
import type { MarketplaceSettings } from './settings';
import { pushOwedUsage } from './usage-push';

/**
 * The outbox deliveries of the calls licensor owes the marketplace (src/domain/marketplace/owed-calls.ts):
 * each makes its call and applies what the answer says. The outbox worker retries them.
 */
export function marketplaceDeliveries(ctx: DomainContext, api: MarketplaceApi, settings: MarketplaceSettings): Delivery[] {
  return [
    {
      kind: ORDER_QUERY,
      async deliver(entry) {
        const call = entry.payload as unknown as OrderQueryPayload;
        await applyOrder(ctx, call, await api.queryOrder(call.orderId, call.orderLineId), settings);
      },
    },
    { kind: LICENSE_UPLOAD, deliver: (entry) => uploadOwedLicense(ctx, api, entry.payload as unknown as LicenseUploadPayload) },
    { kind: USAGE_PUSH, deliver: (entry) => pushOwedUsage(api, entry.payload as unknown as UsagePushPayload) },
  ];
}
