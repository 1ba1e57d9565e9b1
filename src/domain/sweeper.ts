import { auditEvent } from './audit';
import { MAX_CHURN_PERIOD_SECONDS } from './churn';
import type { DomainContext } from './context';
import { sampleActiveSeats } from './heartbeat-stats';
import type { ExpiryPlace, SweepBatch } from './ports';

export interface SweepOptions {
  /** Release codes this long after they expired; null keeps expired codes forever. */
  releaseExpiredAfterMs: number | null;
  batchSize?: number;
}

export interface SweepReport {
  expired: number;
  culled: number;
  released: number;
  /** False when another process held the sweeper lock and this run did nothing. */
  ran: boolean;
}

/**
 * A run starts this far before where the last one ended. Writers set a code's status by the date
 * (lifecycle.ts), so a code alive past its date that the last run could not see was written by a
 * transaction still open then, dated after its writer's clock: at most that transaction's time
 * plus the two clocks' difference before the last run's end.
 */
export const SWEEP_OVERLAP_MS = 10 * 60_000;
/** What the overlap cannot cover (a date changed by hand in SQL, a clock set back, a code unfrozen long after its date) waits at most this long. */
export const FULL_PASS_EVERY_MS = 24 * 3600_000;

const ACTOR = 'sweeper';
const BEGINNING = Number.MIN_SAFE_INTEGER;

/**
 * Expires codes past their date, culls floating seats whose heartbeats stopped, and releases
 * long-expired codes when configured; then samples active seats for the dashboard's chart. Works
 * in batches, one transaction each, and runs in one process at a time.
 *
 * Expiry and release read the codes' date index from where the last finished run got (kept in
 * the database, whichever process ran it), less an overlap, instead of from the beginning, where
 * every code that ever lapsed would be read again on every run. With no run yet, or a day after
 * the last full pass: from the beginning.
 */
export async function sweep(ctx: DomainContext, options: SweepOptions): Promise<SweepReport> {
  // Each commit costs a WAL write and, on SQLite, often a checkpoint: 10,000 codes a batch was the
  // best size on both engines (docs/performance.md#bulk-changes-are-one-statement-a-batch), and
  // holds the SQLite writer for a fraction of a second at a time.
  const batch = options.batchSize ?? 10_000;
  const report = await ctx.repo.exclusively('sweeper', async () => {
    // Beats still buffered in this process must count before anything is culled.
    await ctx.heartbeats.flush();
    const done: SweepReport = { expired: 0, culled: 0, released: 0, ran: true };
    const progress = await ctx.repo.sweeperProgress.read();
    const started = ctx.clock.now();
    const fullPass = progress.fullPassAt === null || started - progress.fullPassAt >= FULL_PASS_EVERY_MS;
    const from = (through: number | null) => (fullPass || through === null ? BEGINNING : through - SWEEP_OVERLAP_MS);
    // Expiry is the bulk case (a whole cohort of codes can lapse at midnight): the store moves a
    // batch and writes its audit events in SQL, with no JavaScript work per code.
    done.expired = await inDateOrder(from(progress.expiredThrough), (after) => ctx.repo.transaction((tx) => tx.codes.expireDue(after, started, batch, ACTOR)));
    done.culled = await repeat(async () => {
      const now = ctx.clock.now();
      const lapsed = await ctx.repo.activations.findLapsedFloating(now, batch);
      if (lapsed.length === 0) return 0;
      return ctx.repo.transaction(async (tx) => {
        const culled = new Set(
          await tx.activations.cullIfLapsed(
            lapsed.map((a) => a.id),
            now,
          ),
        );
        await tx.audit.insert(
          lapsed
            .filter((a) => culled.has(a.id))
            .map((a) => auditEvent(ctx, now, ACTOR, 'activation.culled', { type: 'activation', id: a.id }, a.codeId, null, null)),
        );
        return culled.size || -1;
      });
    });
    let releasedThrough: number | null = null;
    if (options.releaseExpiredAfterMs !== null) {
      // A whole cohort comes up at once, as with expiry: one statement a batch, not one per code
      // (a statement per code took ten times as long, holding the writer: docs/performance.md#sweeper).
      const cutoff = started - options.releaseExpiredAfterMs;
      done.released = await inDateOrder(from(progress.releasedThrough), (after) =>
        ctx.repo.transaction((tx) => tx.codes.releaseExpired(after, cutoff, ctx.clock.now(), batch, ACTOR)),
      );
      releasedThrough = cutoff;
    }
    // Churn events older than the longest period can no longer count against any limit.
    await ctx.repo.churn.pruneBefore(ctx.clock.now() - MAX_CHURN_PERIOD_SECONDS * 1000);
    // After the culls, so the dashboard's seat chart shows what this run left.
    await sampleActiveSeats(ctx);
    // Only a run that finished moves the marks; a failed one leaves them for the next to start from.
    await ctx.repo.sweeperProgress.write({ expiredThrough: started, releasedThrough, fullPassAt: fullPass ? started : progress.fullPassAt });
    return done;
  });
  return report ?? { expired: 0, culled: 0, released: 0, ran: false };
}

/** Runs batches along the codes' date order from `from` until one takes none; returns how many moved. */
async function inDateOrder(from: number, step: (after: ExpiryPlace) => Promise<SweepBatch>): Promise<number> {
  let total = 0;
  for (let after: ExpiryPlace | null = { expiresAt: from, id: '' }; after;) {
    const batch = await step(after);
    total += batch.moved;
    after = batch.last;
  }
  return total;
}

/** Repeats a batch until it finds nothing; a batch returns how many it moved, -1 for "found some, moved none". */
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
