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

const iso = (ms: number) => new Date(ms).toISOString();

export function productView(p: Product) {
  return { ...p, createdAt: new Date(p.createdAt).toISOString() };
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
    expiresAt: new Date(c.expiresAt).toISOString(),
    firstActivatedAt: c.firstActivatedAt === null ? null : new Date(c.firstActivatedAt).toISOString(),
    metadata: c.metadata,
    test: c.test,
    createdAt: new Date(c.createdAt).toISOString(),
    updatedAt: new Date(c.updatedAt).toISOString(),
  };
}

export function activationView(a: Activation) {
  return {
    id: a.id,
    status: a.status,
    createdAt: new Date(a.createdAt).toISOString(),
    lastHeartbeatAt: new Date(a.lastHeartbeatAt).toISOString(),
    endedAt: a.endedAt === null ? null : new Date(a.endedAt).toISOString(),
    cloneSuspect: a.cloneSuspect,
    clonedAt: a.clonedAt === null ? null : new Date(a.clonedAt).toISOString(),
  };
}

export function adminActivationView(a: Activation) {
  return {
    ...activationView(a),
    codeId: a.codeId,
    fingerprint: a.fingerprint,
    environment: a.environment,
    inUseUntil: a.inUseUntil === null ? null : new Date(a.inUseUntil).toISOString(),
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
    expiresAt: new Date(code.expiresAt).toISOString(),
    seats: code.seats,
    features: code.features,
    product: product.name,
    seatMode: product.seatMode,
    leaseSeconds: product.leaseSeconds,
    heartbeatIntervalSeconds: product.heartbeatIntervalSeconds,
  };
}

export function auditView(e: AuditEvent) {
  return { ...e, at: new Date(e.at).toISOString() };
}

export function usageView(u: UsageView) {
  return {
    code: u.displayCode,
    codeId: u.codeId,
    day: u.day,
    distinctIds: u.ids.length,
    activeNum: u.activeNum,
    ids: u.ids,
    reportedAt: new Date(u.reportedAt).toISOString(),
  };
}

export function instanceView(i: MarketplaceInstance, code: string | null) {
  return {
    ...i,
    code: code ? displayCode(code) : null,
    createdAt: new Date(i.createdAt).toISOString(),
    order: i.order && { ...i.order, checkedAt: new Date(i.order.checkedAt).toISOString() },
  };
}

/** A license the marketplace asked for with getLicenseAsync, and its delivery. */
export function marketplaceLicenseView(l: MarketplaceLicense) {
  return {
    ...l,
    requestedAt: new Date(l.requestedAt).toISOString(),
    deliveredAt: l.deliveredAt === null ? null : new Date(l.deliveredAt).toISOString(),
    uploadedAt: l.uploadedAt === null ? null : new Date(l.uploadedAt).toISOString(),
  };
}

export function outboxEntryView(e: OutboxEntry) {
  return {
    ...e,
    nextAttemptAt: iso(e.nextAttemptAt),
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
    deliveredAt: e.deliveredAt === null ? null : iso(e.deliveredAt),
  };
}

export function outboxSummaryView(row: OutboxSummaryRow) {
  return { ...row, oldestAt: iso(row.oldestAt) };
}

/** A named admin token as listed: never the token itself, which is shown once at creation. */
export function adminTokenView(t: AdminToken) {
  const at = (ms: number | null) => (ms === null ? null : iso(ms));
  return { ...t, createdAt: iso(t.createdAt), revokedAt: at(t.revokedAt), lastUsedAt: at(t.lastUsedAt) };
}

const orNull = (ms: number | null) => (ms === null ? null : iso(ms));

/** An endpoint as shown: everything but its secret. */
export function endpointView(e: WebhookEndpoint) {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    events: e.events,
    enabled: e.enabled,
    failureStreak: e.failureStreak,
    failingSince: orNull(e.failingSince),
    disabledAt: orNull(e.disabledAt),
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
