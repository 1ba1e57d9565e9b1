import { createHmac, randomBytes } from 'node:crypto';
import { auditEvent } from './audit';
import type { DomainContext } from './context';
import { Conflict, InvalidInput, NotFound } from './errors';
import { owedCall } from './outbox';
import type { Actor, AuditEvent, OutboxEntry, WebhookDelivery, WebhookEndpoint } from './types';

/**
 * Webhooks (docs/webhooks.md): endpoints an operator registers to be told of what happened. Every
 * audit event is one webhook event (its id, its action as the type); the storage layer enqueues
 * one outbox entry per event and subscribed endpoint in the transaction that writes the event
 * (src/storage/webhook-store.ts), so nothing is announced that did not happen and nothing that
 * happened is lost. The outbox worker delivers them (src/domain/webhook-delivery.ts).
 */

export const WEBHOOK_KIND = 'webhook';

/** The outbox target of an endpoint: its entries go one at a time, in order. */
export const webhookTarget = (endpointId: string): string => `webhook:${endpointId}`;

/**
 * The event types an endpoint may ask for: the audit actions. A pattern is one of these, a family
 * (`code.*`) or everything (`*`).
 */
export const WEBHOOK_EVENT_TYPES = [
  'code.issued',
  'code.imported',
  'code.adopted',
  'code.activated',
  'code.renewed',
  'code.shortened',
  'code.upgraded',
  'code.expired',
  'code.frozen',
  'code.unfrozen',
  'code.released',
  'code.order_applied',
  'code.license_uploaded',
  'code.seat_limit_reached',
  'code.churn_limit_reached',
  'code.concurrency_limit_reached',
  'activation.created',
  'activation.deactivated',
  'activation.released',
  'activation.culled',
  'activation.reenrolled',
  'activation.clone_suspected',
  'activation.license_file_issued',
  'product.created',
  'product.version_published',
  'product.policy_changed',
  'key.created',
  'key.rotated',
  'key.sealed',
  'key.private_half_dropped',
  'admin_token.created',
  'admin_token.revoked',
  'outbox.failed',
  'outbox.retried',
  'webhook.created',
  'webhook.updated',
  'webhook.deleted',
  'webhook.disabled',
  'webhook.secret_rotated',
  'webhook.delivery_resent',
] as const;

/**
 * Checks that a URL may be called: http(s), and resolving only to addresses allowed (no loopback,
 * link-local or private ranges unless the operator allows them). Throws InvalidInput. Implemented
 * where the network is (src/outbound/webhook-sender.ts); asked at registration and again before
 * every delivery (the name may resolve elsewhere by then).
 */
export interface WebhookUrlGuard {
  check(url: string): Promise<void>;
}

export function subscribes(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}

const FAMILIES = new Set(WEBHOOK_EVENT_TYPES.map((t) => t.slice(0, t.indexOf('.'))));

function checkEventPatterns(events: readonly string[]): string[] {
  const unknown = events.filter(
    (e) => !(e === '*' || (WEBHOOK_EVENT_TYPES as readonly string[]).includes(e) || (e.endsWith('.*') && FAMILIES.has(e.slice(0, -2)))),
  );
  if (unknown.length > 0) {
    throw new InvalidInput('webhook_event_type_unknown', `unknown event type(s): ${unknown.join(', ')}; see GET /v1/admin/webhooks/event-types`, { unknown });
  }
  return [...new Set(events)];
}

/** The body every delivery of an event carries, byte for byte the same on every attempt. */
export function webhookBody(event: AuditEvent): string {
  return JSON.stringify({
    id: event.id,
    type: event.action,
    createdAt: new Date(event.at).toISOString(),
    actor: event.actor,
    entity: { type: event.entityType, id: event.entityId },
    codeId: event.codeId,
    before: event.before,
    after: event.after,
  });
}

export const SIGNATURE_HEADER = 'Licensor-Signature';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>` (docs/webhooks.md "Verifying a delivery"). */
export function webhookSignature(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

interface NewWebhook {
  url: string;
  events: string[];
  description?: string;
}

interface WebhookChange {
  url?: string;
  events?: string[];
  description?: string | null;
  /** true switches an endpoint back on (its failure streak starts again from zero). */
  enabled?: boolean;
}

/** What an audit event shows of an endpoint (never its secret). */
export function webhookSnapshot(e: WebhookEndpoint): Record<string, unknown> {
  return { url: e.url, events: e.events, enabled: e.enabled, description: e.description, ...(e.disabledReason ? { disabledReason: e.disabledReason } : {}) };
}

function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64url')}`;
}

/** Registers an endpoint; the answer is the only time its secret is shown. Audited. */
export async function registerWebhook(ctx: DomainContext, input: NewWebhook, actor: Actor, guard: WebhookUrlGuard): Promise<WebhookEndpoint> {
  const events = checkEventPatterns(input.events);
  await guard.check(input.url);
  const now = ctx.clock.now();
  const endpoint: WebhookEndpoint = {
    id: ctx.ids.id(),
    url: input.url,
    description: input.description ?? null,
    events,
    secret: newSecret(),
    enabled: true,
    failureStreak: 0,
    failingSince: null,
    disabledAt: null,
    disabledReason: null,
    createdAt: now,
    updatedAt: now,
  };
  return ctx.repo.transaction(async (tx) => {
    await tx.webhooks.insert(endpoint);
    await tx.audit.insert([auditEvent(ctx, now, actor, 'webhook.created', { type: 'webhook', id: endpoint.id }, null, null, webhookSnapshot(endpoint))]);
    return endpoint;
  });
}

export async function getWebhook(ctx: DomainContext, id: string): Promise<WebhookEndpoint> {
  const endpoint = await ctx.repo.webhooks.find(id);
  if (!endpoint) throw new NotFound('webhook_not_found', 'no such webhook endpoint');
  return endpoint;
}

export function listWebhooks(ctx: DomainContext): Promise<WebhookEndpoint[]> {
  return ctx.repo.webhooks.list();
}

export async function updateWebhook(ctx: DomainContext, id: string, change: WebhookChange, actor: Actor, guard: WebhookUrlGuard): Promise<WebhookEndpoint> {
  const events = change.events && checkEventPatterns(change.events);
  if (change.url !== undefined) await guard.check(change.url);
  return ctx.repo.transaction(async (tx) => {
    const before = await tx.webhooks.find(id);
    if (!before) throw new NotFound('webhook_not_found', 'no such webhook endpoint');
    const now = ctx.clock.now();
    const after: WebhookEndpoint = {
      ...before,
      url: change.url ?? before.url,
      events: events ?? before.events,
      description: change.description === undefined ? before.description : change.description,
      enabled: change.enabled ?? before.enabled,
      updatedAt: now,
    };
    if (change.enabled === true && !before.enabled) Object.assign(after, { failureStreak: 0, failingSince: null, disabledAt: null, disabledReason: null });
    if (change.enabled === false && before.enabled) Object.assign(after, { disabledAt: now, disabledReason: `switched off by ${actor}` });
    await tx.webhooks.update(after);
    await tx.audit.insert([auditEvent(ctx, now, actor, 'webhook.updated', { type: 'webhook', id }, null, webhookSnapshot(before), webhookSnapshot(after))]);
    return after;
  });
}

/**
 * A new signing secret for an endpoint (the old one lost or leaked), in force from the next attempt
 * on; like the first, the answer is the only time it is shown. Audited (never the secret).
 */
export async function rotateWebhookSecret(ctx: DomainContext, id: string, actor: Actor): Promise<WebhookEndpoint> {
  return ctx.repo.transaction(async (tx) => {
    const before = await tx.webhooks.find(id);
    if (!before) throw new NotFound('webhook_not_found', 'no such webhook endpoint');
    const now = ctx.clock.now();
    const after = { ...before, secret: newSecret(), updatedAt: now };
    await tx.webhooks.update(after);
    await tx.audit.insert([auditEvent(ctx, now, actor, 'webhook.secret_rotated', { type: 'webhook', id }, null, null, webhookSnapshot(after))]);
    return after;
  });
}

/** Removes an endpoint; its pending deliveries fail at their next attempt (the endpoint is gone). */
export async function deleteWebhook(ctx: DomainContext, id: string, actor: Actor): Promise<void> {
  await ctx.repo.transaction(async (tx) => {
    const before = await tx.webhooks.find(id);
    if (!before) throw new NotFound('webhook_not_found', 'no such webhook endpoint');
    await tx.webhooks.delete(id);
    await tx.audit.insert([auditEvent(ctx, ctx.clock.now(), actor, 'webhook.deleted', { type: 'webhook', id }, null, webhookSnapshot(before), null)]);
  });
}

export async function listWebhookDeliveries(ctx: DomainContext, id: string, limit: number): Promise<WebhookDelivery[]> {
  await getWebhook(ctx, id);
  return ctx.repo.webhooks.deliveries(id, limit);
}

/**
 * The operator's "send again": a delivered or failed delivery is owed once more, with the same
 * event id and body (receivers de-duplicate by the id), after whatever the endpoint has pending.
 * A delivery still pending is refused (it is on its way), and so is one to an endpoint that is off. Audited.
 */
export async function resendWebhookDelivery(ctx: DomainContext, endpointId: string, entryId: string, actor: Actor): Promise<OutboxEntry> {
  const endpoint = await getWebhook(ctx, endpointId);
  const entry = await ctx.repo.outbox.find(entryId);
  if (!entry || entry.kind !== WEBHOOK_KIND || entry.target !== webhookTarget(endpointId))
    throw new NotFound('webhook_delivery_not_found', 'no such delivery of this endpoint');
  if (entry.status === 'pending') throw new Conflict('webhook_delivery_pending', 'the delivery is still pending: it will be attempted again by itself');
  if (!endpoint.enabled) throw new Conflict('webhook_disabled', 'the endpoint is switched off: switch it on, then send again');
  return ctx.repo.transaction(async (tx) => {
    const now = ctx.clock.now();
    const again = owedCall(ctx, now, { kind: WEBHOOK_KIND, target: entry.target, payload: entry.payload });
    await tx.outbox.enqueue(again);
    await tx.audit.insert([
      auditEvent(ctx, now, actor, 'webhook.delivery_resent', { type: 'webhook', id: endpointId }, null, null, {
        delivery: entry.id,
        resentAs: again.id,
        eventId: entry.payload.eventId,
      }),
    ]);
    return again;
  });
}
