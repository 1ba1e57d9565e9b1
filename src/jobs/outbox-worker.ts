import { auditEvent } from '../domain/audit';
import type { DomainContext } from '../domain/context';
import { DeliveryFailed, nextAttemptAt, OUTBOX_ACTOR, outboxSnapshot, type Delivery, type RetryPolicy } from '../domain/outbox';
import type { OutboxEntry } from '../domain/types';
import type { Logger } from '../logger';

interface OutboxWorkerOptions {
  /** How often to look for due entries. */
  pollMs: number;
  /** How long a claim holds an entry from other workers: longer than any one delivery may take. */
  leaseMs: number;
  /** Entries claimed (and delivered side by side) at a time. */
  batch: number;
  retry: RetryPolicy;
  /** Delivered entries are kept this long (the operator's view), then deleted. */
  keepDeliveredMs: number;
}

/** Told the outcome of every attempt, for /metrics: delivered, failed and due again (retry), or given up (failed). */
type OutboxAttemptListener = (kind: string, result: 'delivered' | 'retry' | 'failed') => void;

interface OutboxRun {
  /** Entries taken this run; the others are the outcomes. */
  claimed: number;
  delivered: number;
  retried: number;
  failed: number;
}

export interface OutboxWorker {
  /** Claims the entries due now and delivers them; resolves when every one is delivered or rescheduled. */
  runOnce(): Promise<OutboxRun>;
  /** Runs until nothing is due (tests, and `licensor outbox deliver`). */
  drain(): Promise<OutboxRun>;
  stop(): Promise<void>;
}

/** Delivered entries are pruned at most this often. */
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Delivers the outbox (src/domain/outbox.ts): claims due entries under a lease, hands each to the
 * delivery of its kind, and records the outcome. At least once: a worker that dies mid-delivery
 * leaves a lease that lapses, and the entry is delivered again. Several processes may run one each
 * on PostgreSQL (the claim is atomic); runs of one worker never overlap and never keep the process alive.
 */
export function startOutboxWorker(
  ctx: DomainContext,
  deliveries: readonly Delivery[],
  options: OutboxWorkerOptions,
  logger: Logger,
  onAttempt: OutboxAttemptListener = () => {},
): OutboxWorker {
  const byKind = new Map(deliveries.map((d) => [d.kind, d]));
  const owner = ctx.ids.id();
  let running: Promise<OutboxRun> | null = null;
  let stopped = false;
  let lastPrune = Number.NEGATIVE_INFINITY;

  async function attempt(entry: OutboxEntry): Promise<'delivered' | 'retried' | 'failed'> {
    const delivery = byKind.get(entry.kind);
    let failure: DeliveryFailed;
    try {
      // A kind nobody here delivers (written by a newer version, say) waits for a process that does.
      if (!delivery) throw new DeliveryFailed(`no delivery for the kind "${entry.kind}" in this process`);
      await delivery.deliver(entry);
      if (await ctx.repo.outbox.markDelivered(entry.id, owner, ctx.clock.now())) onAttempt(entry.kind, 'delivered');
      return 'delivered';
    } catch (err) {
      failure = err instanceof DeliveryFailed ? err : new DeliveryFailed(err instanceof Error ? err.message : String(err));
    }
    const now = ctx.clock.now();
    const retryAt = nextAttemptAt(options.retry, entry.attempts + 1, now);
    const giveUp = failure.permanent || retryAt > entry.createdAt + options.retry.giveUpAfterMs;
    const after = await ctx.repo.transaction(async (tx) => {
      const marked = await tx.outbox.markAttemptFailed(entry.id, owner, now, failure.message, giveUp ? null : retryAt);
      if (marked?.status === 'failed') {
        await tx.audit.insert([
          auditEvent(ctx, now, OUTBOX_ACTOR, 'outbox.failed', { type: 'outbox', id: entry.id }, null, outboxSnapshot(entry), outboxSnapshot(marked)),
        ]);
      }
      return marked;
    });
    if (!after) return 'retried';
    const fields = { outbox: { id: entry.id, kind: entry.kind, target: entry.target, attempts: after.attempts }, reason: failure.message };
    onAttempt(entry.kind, after.status === 'failed' ? 'failed' : 'retry');
    if (after.status === 'failed') {
      logger.error(fields, failure.permanent ? 'outbox entry refused: given up' : 'outbox entry undelivered for too long: given up');
      return 'failed';
    }
    logger.warn({ ...fields, retryAt: new Date(retryAt).toISOString() }, 'outbox delivery failed; will retry');
    return 'retried';
  }

  async function run(): Promise<OutboxRun> {
    const now = ctx.clock.now();
    if (now - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = now;
      await ctx.repo.outbox.pruneDelivered(now - options.keepDeliveredMs);
    }
    const claimed = await ctx.repo.transaction((tx) => tx.outbox.claim(owner, now, now + options.leaseMs, options.batch));
    const outcomes = await Promise.all(claimed.map(attempt));
    const count = (outcome: string) => outcomes.filter((o) => o === outcome).length;
    return { claimed: claimed.length, delivered: count('delivered'), retried: count('retried'), failed: count('failed') };
  }

  const runOnce = (): Promise<OutboxRun> => {
    running ??= run().finally(() => {
      running = null;
    });
    return running;
  };

  let timer: NodeJS.Timeout | undefined;
  // While the database is away every poll fails: say so once, and again once it is back.
  let failing = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      drain()
        .then(
          () => {
            if (failing) logger.info('outbox runs again');
            failing = false;
          },
          (err: unknown) => {
            if (!failing) logger.warn({ err }, 'outbox run failed; will retry every poll');
            failing = true;
          },
        )
        .finally(schedule);
    }, options.pollMs);
    timer.unref();
  };

  async function drain(): Promise<OutboxRun> {
    const total: OutboxRun = { claimed: 0, delivered: 0, retried: 0, failed: 0 };
    for (;;) {
      const one = await runOnce();
      total.claimed += one.claimed;
      total.delivered += one.delivered;
      total.retried += one.retried;
      total.failed += one.failed;
      // A full batch may have left more due behind it, and an entry that is done lets the next of
      // its target go; entries that were only rescheduled are not due again yet.
      if (stopped || (one.claimed < options.batch && one.delivered + one.failed === 0)) return total;
    }
  }

  schedule();
  return {
    runOnce,
    drain,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
