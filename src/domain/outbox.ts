import { auditEvent } from './audit';
import type { DomainContext } from './context';
import { Conflict, NotFound } from './errors';
import type { Actor, OutboxEntry, OutboxFilter, OutboxSummaryRow, Page } from './types';

/**
 * The outbox (docs/operations.md "Calls licensor owes"): calls to other systems that licensor owes,
 * written in the same transaction as the change that made them owed, and delivered by a worker
 * (src/jobs/outbox-worker.ts) at least once, in order per target, with backoff, across restarts.
 * What a kind of entry means and how it is sent is its delivery's business (e.g. the marketplace's
 * calls, src/domain/marketplace/outbound.ts); nothing here knows any of them.
 */

/** The audit actor of what the outbox's deliveries did. */
export const OUTBOX_ACTOR = 'outbox';

/** What a caller owes: a kind, a target, an optional key and what to send. */
export interface OwedCall {
  kind: string;
  target: string;
  key?: string;
  payload: Record<string, unknown>;
}

/** A new entry, due at once; the caller writes it in its own transaction (`tx.outbox.enqueue`). */
export function owedCall(ctx: Pick<DomainContext, 'ids'>, now: number, call: OwedCall): OutboxEntry {
  return {
    id: ctx.ids.id(),
    kind: call.kind,
    target: call.target,
    key: call.key ?? null,
    payload: call.payload,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    lastError: null,
    createdAt: now,
    updatedAt: now,
    deliveredAt: null,
  };
}

/**
 * A delivery that did not happen. `permanent`: retrying cannot help (the other side refused what
 * was sent), so the entry fails at once; otherwise it is retried with backoff.
 */
export class DeliveryFailed extends Error {
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'DeliveryFailed';
  }
}

/** Sends the entries of one kind. Throws DeliveryFailed (or anything: retried) when it did not deliver. */
export interface Delivery {
  kind: string;
  deliver(entry: OutboxEntry): Promise<void>;
}

export interface RetryPolicy {
  /** Wait after the first failed attempt; each further failure doubles it. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** An entry still undelivered this long after it was enqueued is given up (failed). */
  giveUpAfterMs: number;
}

/** When to try again after `attempts` failed attempts (1, 2, …): doubling from the first delay, capped. */
export function nextAttemptAt(policy: RetryPolicy, attempts: number, now: number): number {
  const exponent = Math.min(attempts - 1, 30);
  return now + Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** exponent);
}

export function listOutbox(ctx: DomainContext, filter: OutboxFilter, limit: number, cursor: string | null): Promise<Page<OutboxEntry>> {
  return ctx.repo.outbox.list(filter, limit, cursor);
}

export function summarizeOutbox(ctx: DomainContext): Promise<OutboxSummaryRow[]> {
  return ctx.repo.outbox.summary();
}

export async function getOutboxEntry(ctx: DomainContext, id: string): Promise<OutboxEntry> {
  const entry = await ctx.repo.outbox.find(id);
  if (!entry) throw new NotFound('outbox_entry_not_found', 'no such outbox entry');
  return entry;
}

/**
 * The operator's "try again" for an entry that was given up: it is due at once, with its attempts
 * counted from zero. Audited. A pending or delivered entry is refused (it needs no retry).
 */
export async function retryOutboxEntry(ctx: DomainContext, id: string, actor: Actor): Promise<OutboxEntry> {
  const entry = await getOutboxEntry(ctx, id);
  if (entry.status !== 'failed') throw new Conflict('outbox_entry_not_failed', `the entry is ${entry.status}: only a failed entry is retried`);
  return ctx.repo.transaction(async (tx) => {
    const now = ctx.clock.now();
    const retried = await tx.outbox.requeue(id, now);
    if (!retried) throw new Conflict('outbox_entry_not_failed', 'the entry is no longer failed');
    await tx.audit.insert([auditEvent(ctx, now, actor, 'outbox.retried', { type: 'outbox', id }, null, outboxSnapshot(entry), outboxSnapshot(retried))]);
    return retried;
  });
}

/** What an audit event shows of an entry (never its payload: it may hold what was sent). */
export function outboxSnapshot(entry: OutboxEntry): Record<string, unknown> {
  return { kind: entry.kind, target: entry.target, status: entry.status, attempts: entry.attempts, lastError: entry.lastError };
}
