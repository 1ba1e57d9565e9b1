import { displayCode } from '../domain/authorization-code';
import type {
  AdminToken,
  WebhookDelivery,
  WebhookEndpoint,
  Activation,
  AuditEvent,
  LicenseCode,
  OutboxEntry,
  OutboxSummaryRow,
  Product,
} from '../domain/types';
import type { CodeView } from '../domain/codes';
import type { UsageView } from '../domain/marketplace/usage';
import type { MarketplaceInstance, MarketplaceLicense } from '../domain/marketplace/types';

/**
 * What the admin API, the client API and the CLI show of the domain's records: times as ISO 8601,
 * codes as people type them. One view per record, so an answer and a CLI listing say the same.
 */

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export function productView(p: Product) {
  return { ...p, createdAt: iso(p.createdAt) };
}

export function codeView(c: CodeView) {
  return {
    id: c.id,
    code: c.displayCode,
    product: c.productName,
    status: c.effectiveStatus,
    storedStatus: c.status,
    seats: c.seats,
    concurrent: c.maxConcurrent,
    features: c.features,
    expiresAt: iso(c.expiresAt),
    firstActivatedAt: isoOrNull(c.firstActivatedAt),
    metadata: c.metadata,
    test: c.test,
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
}

export function activationView(a: Activation) {
  return {
    id: a.id,
    status: a.status,
    createdAt: iso(a.createdAt),
    lastHeartbeatAt: iso(a.lastHeartbeatAt),
    endedAt: isoOrNull(a.endedAt),
    cloneSuspect: a.cloneSuspect,
    clonedAt: isoOrNull(a.clonedAt),
  };
}

export function adminActivationView(a: Activation) {
  return {
    ...activationView(a),
    codeId: a.codeId,
    fingerprint: a.fingerprint,
    environment: a.environment,
    inUseUntil: isoOrNull(a.inUseUntil),
  };
}

/** The product's published versions (docs/policies.md); null until the operator publishes one. */
export function updateView(product: Product) {
  return product.latestVersion === null ? null : { latestVersion: product.latestVersion, minimumVersion: product.minimumVersion };
}

/** What a client is told about its license in an activation or heartbeat answer. */
export function licenseAnswerView(code: LicenseCode, product: Product, status: string) {
  return {
    status,
    expiresAt: iso(code.expiresAt),
    seats: code.seats,
    features: code.features,
    product: product.name,
    seatMode: product.seatMode,
    leaseSeconds: product.leaseSeconds,
    heartbeatIntervalSeconds: product.heartbeatIntervalSeconds,
  };
}

export function auditView(e: AuditEvent) {
  return { ...e, at: iso(e.at) };
}

export function usageView(u: UsageView) {
  return {
    code: u.displayCode,
    codeId: u.codeId,
    day: u.day,
    distinctIds: u.ids.length,
    activeNum: u.activeNum,
    ids: u.ids,
    reportedAt: iso(u.reportedAt),
  };
}

export function instanceView(i: MarketplaceInstance, code: string | null) {
  return {
    ...i,
    code: code ? displayCode(code) : null,
    createdAt: iso(i.createdAt),
    order: i.order && { ...i.order, checkedAt: iso(i.order.checkedAt) },
  };
}

/** A license the marketplace asked for with getLicenseAsync, and its delivery. */
export function marketplaceLicenseView(l: MarketplaceLicense) {
  return {
    ...l,
    requestedAt: iso(l.requestedAt),
    deliveredAt: isoOrNull(l.deliveredAt),
    uploadedAt: isoOrNull(l.uploadedAt),
  };
}

export function outboxEntryView(e: OutboxEntry) {
  return {
    ...e,
    nextAttemptAt: iso(e.nextAttemptAt),
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
    deliveredAt: isoOrNull(e.deliveredAt),
  };
}

export function outboxSummaryView(row: OutboxSummaryRow) {
  return { ...row, oldestAt: iso(row.oldestAt) };
}

/** A named admin token as listed: never the token itself, which is shown once at creation. */
export function adminTokenView(t: AdminToken) {
  return { ...t, createdAt: iso(t.createdAt), revokedAt: isoOrNull(t.revokedAt), lastUsedAt: isoOrNull(t.lastUsedAt) };
}

/** An endpoint as shown: everything but its secret. */
export function endpointView(e: WebhookEndpoint) {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    events: e.events,
    enabled: e.enabled,
    failureStreak: e.failureStreak,
    failingSince: isoOrNull(e.failingSince),
    disabledAt: isoOrNull(e.disabledAt),
    disabledReason: e.disabledReason,
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
  };
}

/** A delivery of one event to one endpoint, with what the receiver last answered. */
export function deliveryView(d: WebhookDelivery) {
  const a = d.lastAttempt;
  return {
    entry: outboxEntryView(d.entry),
    eventId: d.eventId,
    eventType: d.eventType,
    lastAttempt: a && { at: iso(a.at), durationMs: a.durationMs, ok: a.ok, statusCode: a.statusCode, response: a.response, error: a.error },
  };
}
