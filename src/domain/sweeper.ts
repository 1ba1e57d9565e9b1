import { auditEvent } from './audit';
import { MAX_CHURN_PERIOD_SECONDS } from './churn';
import type { DomainContext } from './context';
import { sampleActiveSeats } from './heartbeat-stats';

export interface SweepOptions {
  /** Release codes this long after they expired; null keeps expired codes forever. */
  releaseExpiredAfterMs: number | null;
  batchSize?: number;
  /**
   * Expiry and release batches run at once, each its own transaction (at most the store's
   * concurrent writers: one on SQLite). A batch is CPU work in the database, mostly index entries
   * (docs/performance.md).
   */
  parallelBatches?: number;
}

export interface SweepReport {
  expired: number;
  culled: number;
  released: number;
  /** False when another process held the sweeper lock and this run did nothing. */
  ran: boolean;
}

const ACTOR = 'sweeper';

/**
 * Expires codes past their date, culls floating seats whose heartbeats stopped, and releases
 * long-expired codes when configured; then samples active seats for the dashboard's chart. Works
 * in batches, one transaction each, and runs in one process at a time.
 */
export async function sweep(ctx: DomainContext, options: SweepOptions): Promise<SweepReport> {
  // Each commit costs a WAL write and, on SQLite, often a checkpoint: 10,000 codes a batch took
  // 100,000 due codes from 2.9 s to 1.9 s there (20,000: 1.5 s, but 7.2 s instead of 5.4 s on
  // PostgreSQL), and holds the SQLite writer for about 0.2 s at a time.
  const batch = options.batchSize ?? 10_000;
  const report = await ctx.repo.exclusively('sweeper', async () => {
    // Beats still buffered in this process must count before anything is culled.
    await ctx.heartbeats.flush();
    const done: SweepReport = { expired: 0, culled: 0, released: 0, ran: true };
    // Expiry is the bulk case (a whole cohort of codes can lapse at midnight): the store moves a
    // batch and writes its audit events in SQL, with no JavaScript work per code.
    const parallel = Math.max(1, Math.min(options.parallelBatches ?? 1, ctx.repo.concurrentWriters));
    done.expired = await inBatches(parallel, async () => {
      const now = ctx.clock.now();
      return ctx.repo.transaction((tx) => tx.codes.expireDue(now, batch, ACTOR));
    });
    done.culled = await inBatches(1, async () => {
      const now = ctx.clock.now();
      const lapsed = await ctx.repo.activations.findLapsedFloating(now, batch);
      if (lapsed.length === 0) return 0;
      return ctx.repo.transaction(async (tx) => {
        const culled = new Set(await tx.activations.cullIfLapsed(lapsed.map((a) => a.id), now));
        await tx.audit.insert(
          lapsed.filter((a) => culled.has(a.id)).map((a) =>
            auditEvent(ctx, now, ACTOR, 'activation.culled', { type: 'activation', id: a.id }, a.codeId, null, null),
          ),
        );
        return culled.size || -1;
      });
    });
    if (options.releaseExpiredAfterMs !== null) {
      const after = options.releaseExpiredAfterMs;
      // A whole cohort comes up at once, as with expiry: one statement a batch, not one per code
      // (a statement per code took 100,000 codes 28 s on SQLite, holding the writer).
      done.released = await inBatches(parallel, async () => {
        const now = ctx.clock.now();
        return ctx.repo.transaction((tx) => tx.codes.releaseExpired(now - after, now, batch, ACTOR));
      });
    }
    // Churn events older than the longest period can no longer count against any limit.
    await ctx.repo.churn.pruneBefore(ctx.clock.now() - MAX_CHURN_PERIOD_SECONDS * 1000);
    // After the culls, so the dashboard's seat chart shows what this run left.
    await sampleActiveSeats(ctx);
    return done;
  });
  return report ?? { expired: 0, culled: 0, released: 0, ran: false };
}

/**
 * Repeats a batch until it finds nothing; a batch returns how many it moved, -1 for "found some,
 * moved none". `parallel` loops repeat it side by side: their batches skip each other's rows
 * (the store locks a batch's codes as it takes them).
 */
async function inBatches(parallel: number, step: () => Promise<number>): Promise<number> {
  const moved = await Promise.all(Array.from({ length: parallel }, () => repeat(step)));
  return moved.reduce((a, b) => a + b, 0);
}

async function repeat(step: () => Promise<number>): Promise<number> {
  let total = 0;
  for (let rounds = 0; rounds < 100_000; rounds++) {
    const moved = await step();
    if (moved === 0) break;
    if (moved < 0) break; // everything found was taken by someone else; the next run will look again
    total += moved;
  }
  return total;
}
