import type { OwedCall } from '../outbox';
import type { MarketplaceInstance } from './types';

/**
 * The calls licensor owes the marketplace, as outbox entries (src/domain/outbox.ts): their kinds,
 * targets, keys and payloads. One instance's order queries share a target, so its orders apply in
 * the order they came, as do its usage pushes; uploads go one per event, so a slow order query
 * never holds up a license. Each is enqueued once per key. Delivered by src/domain/marketplace/outbound.ts.
 */

export const ORDER_QUERY = 'marketplace.order-query';
export const LICENSE_UPLOAD = 'marketplace.license-upload';
export const USAGE_PUSH = 'marketplace.usage-push';

/** `new`: the order that created the instance; `upgrade`: an upgradeInstance order. */
type OrderPurpose = 'new' | 'upgrade';

export interface OrderQueryPayload {
  instanceId: string;
  orderId: string;
  orderLineId: string;
  purpose: OrderPurpose;
  test: boolean;
}

export interface LicenseUploadPayload {
  instanceId: string;
  eventId: string;
  /** With eventId, the license application's key (marketplace_licenses). */
  fingerprintHash: string;
  test: boolean;
}

export interface UsagePushPayload {
  instanceId: string;
  /** The UTC day the usage covers, YYYY-MM-DD. */
  day: string;
  usageValue: number;
  meteringSn: string;
  recordTime: number;
  test: boolean;
}

export function orderQuery(instance: MarketplaceInstance, order: { orderId: string; orderLineId: string }, purpose: OrderPurpose): OwedCall {
  const payload: OrderQueryPayload = { instanceId: instance.instanceId, orderId: order.orderId, orderLineId: order.orderLineId, purpose, test: instance.test };
  return {
    kind: ORDER_QUERY,
    target: `marketplace:orders:${instance.instanceId}`,
    key: `${purpose} ${order.orderId} ${order.orderLineId}`,
    payload: { ...payload },
  };
}

export function licenseUpload(payload: LicenseUploadPayload): OwedCall {
  return {
    kind: LICENSE_UPLOAD,
    target: `marketplace:upload:${payload.eventId}`,
    key: `${payload.eventId} ${payload.fingerprintHash}`,
    payload: { ...payload },
  };
}

export function usagePush(payload: UsagePushPayload): OwedCall {
  return { kind: USAGE_PUSH, target: `marketplace:usage:${payload.instanceId}`, key: `${payload.instanceId} ${payload.day}`, payload: { ...payload } };
}
