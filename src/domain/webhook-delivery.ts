import { auditEvent } from './audit';
import type { DomainContext } from './context';
import { DeliveryFailed, OUTBOX_ACTOR, type Delivery } from './outbox';
import type { OutboxEntry, WebhookEndpoint } from './types';
import { SIGNATURE_HEADER, WEBHOOK_KIND, webhookBody, webhookSignature, webhookSnapshot } from './webhooks';

/**
 * Sends the outbox's `webhook` entries (docs/webhooks.md "Deliveries"): the event's body, signed
 * with the endpoint's secret and the time of the attempt, POSTed to the endpoint's URL. A 2xx
 * answer delivers; anything else, or no answer, is retried by the outbox with backoff. Every
 * attempt is kept for the operator's view; an endpoint that has failed for too long is switched
 * off (audited `webhook.disabled`, and the operator told through `onDisabled`).
 */

/** POSTs a body; rejects when there was no answer. Implemented in src/outbound/webhook-sender.ts. */
export type WebhookPost = (url: string, headers: Record<string, string>, body: string) => Promise<{ status: number; text: string }>;

interface WebhookDeliveryOptions {
  post: WebhookPost;
  /** An endpoint is switched off once it has failed this long without a success… */
  disableAfterMs: number;
  /** …and at least this many times in a row. */
  disableAfterFailures: number;
  /** Attempts are kept this long for the operator's view (as delivered outbox entries are), then deleted. */
  keepAttemptsMs: number;
  onDisabled?: (endpoint: WebhookEndpoint, reason: string) => void;
}

const endpointOf = (entry: OutboxEntry) => entry.target.slice(`${WEBHOOK_KIND}:`.length);

/** Old attempts are deleted at most this often. */
const PRUNE_EVERY_MS = 3_600_000;

export function webhookDelivery(ctx: DomainContext, options: WebhookDeliveryOptions): Delivery {
  let lastPrune = Number.NEGATIVE_INFINITY;
  async function failed(endpoint: WebhookEndpoint, why: string): Promise<never> {
    const now = ctx.clock.now();
    const after = await ctx.repo.webhooks.noteFailure(endpoint.id, now);
    if (after && after.failingSince !== null && after.failureStreak >= options.disableAfterFailures && now - after.failingSince >= options.disableAfterMs) {
      const reason = `${after.failureStreak} failed deliveries in a row since ${new Date(after.failingSince).toISOString()}; last: ${why}`;
      const disabled = await ctx.repo.transaction(async (tx) => {
        if (!(await tx.webhooks.disable(endpoint.id, now, reason))) return false;
        const off = { ...after, enabled: false, disabledReason: reason };
        await tx.audit.insert([
          auditEvent(ctx, now, OUTBOX_ACTOR, 'webhook.disabled', { type: 'webhook', id: endpoint.id }, null, webhookSnapshot(after), webhookSnapshot(off)),
        ]);
        return true;
      });
      if (disabled) options.onDisabled?.({ ...after, enabled: false, disabledAt: now, disabledReason: reason }, reason);
      throw new DeliveryFailed(`${why}; the endpoint is switched off`, true);
    }
    throw new DeliveryFailed(why);
  }

  return {
    kind: WEBHOOK_KIND,
    async deliver(entry) {
      if (ctx.clock.now() - lastPrune > PRUNE_EVERY_MS) {
        lastPrune = ctx.clock.now();
        await ctx.repo.webhooks.pruneAttempts(lastPrune - options.keepAttemptsMs);
      }
      const endpoint = await ctx.repo.webhooks.find(endpointOf(entry));
      // Given up at once: nothing can be sent to an endpoint that is gone or off (resend after switching it on).
      if (!endpoint) throw new DeliveryFailed('the endpoint was deleted', true);
      if (!endpoint.enabled) throw new DeliveryFailed('the endpoint is switched off', true);
      const eventId = String(entry.payload.eventId);
      const event = await ctx.repo.webhooks.event(eventId);
      if (!event) throw new DeliveryFailed(`no audit event ${eventId}`, true);
      const body = webhookBody(event);
      const startedAt = ctx.clock.now();
      const headers = {
        [SIGNATURE_HEADER]: webhookSignature(endpoint.secret, Math.floor(startedAt / 1000), body),
        'Licensor-Event-Id': event.id,
        'Licensor-Event-Type': event.action,
        'Licensor-Delivery-Id': entry.id,
      };
      const began = performance.now();
      let answer: { status: number; text: string } | null = null;
      let error: string | null = null;
      try {
        answer = await options.post(endpoint.url, headers, body);
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      const ok = answer !== null && answer.status >= 200 && answer.status < 300;
      await ctx.repo.webhooks.recordAttempt({
        id: ctx.ids.id(),
        endpointId: endpoint.id,
        outboxId: entry.id,
        eventId,
        at: startedAt,
        durationMs: Math.round(performance.now() - began),
        ok,
        statusCode: answer?.status ?? null,
        response: answer?.text ?? null,
        error,
      });
      if (ok) {
        await ctx.repo.webhooks.noteSuccess(endpoint.id, ctx.clock.now());
        return;
      }
      await failed(endpoint, answer ? `HTTP ${answer.status}${answer.text ? `: ${answer.text.slice(0, 200)}` : ''}` : (error ?? 'no answer'));
    },
  };
}
