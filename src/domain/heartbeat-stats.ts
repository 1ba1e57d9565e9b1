import type { DomainContext } from './context';
import { getProduct } from './products';

const MINUTE_MS = 60_000;

/** How long per-minute statistics are kept; also the widest range a chart may ask for. */
export const STATS_RETENTION_MS = 90 * 24 * 60 * MINUTE_MS;

/** Bucket widths a chart is drawn with, in minutes: the smallest that keeps it under the point limit. */
const STEPS_MINUTES = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440];

interface HeartbeatSeriesQuery {
  /** A product name; all products when absent. */
  product?: string;
  from: number;
  to: number;
  /** At most this many buckets. */
  maxPoints: number;
}

interface HeartbeatSeries {
  from: number;
  to: number;
  stepMs: number;
  /** Every bucket in the range, oldest first; a bucket without a seat sample has `activeSeats: null`. */
  points: Array<{ at: number; beats: number; activeSeats: number | null }>;
}

/**
 * Takes this minute's count of active seats per product and drops statistics past retention.
 * Runs with the sweeper (one process at a time); a second sample in the same minute replaces the first.
 */
export async function sampleActiveSeats(ctx: DomainContext): Promise<void> {
  const now = ctx.clock.now();
  await ctx.repo.heartbeatStats.sampleActiveSeats(startOfMinute(now));
  await ctx.repo.heartbeatStats.pruneBefore(startOfMinute(now - STATS_RETENTION_MS));
}

/** Heartbeats and active seats over time, in buckets aligned to the step, with the empty ones filled in. */
export async function heartbeatSeries(ctx: DomainContext, query: HeartbeatSeriesQuery): Promise<HeartbeatSeries> {
  const productId = query.product === undefined ? undefined : (await getProduct(ctx, query.product)).id;
  const spanMinutes = Math.ceil((query.to - query.from) / MINUTE_MS);
  const stepMinutes = STEPS_MINUTES.find((s) => Math.ceil(spanMinutes / s) <= query.maxPoints) ?? STEPS_MINUTES[STEPS_MINUTES.length - 1]!;
  const stepMs = stepMinutes * MINUTE_MS;
  const from = query.from - (query.from % stepMs);
  const to = query.to;
  const buckets = await ctx.repo.heartbeatStats.series({ productId, from, to, stepMs });
  const byStart = new Map(buckets.map((b) => [b.start, b]));
  const points: HeartbeatSeries['points'] = [];
  for (let at = from; at < to; at += stepMs) {
    const b = byStart.get(at);
    points.push({ at, beats: b?.beats ?? 0, activeSeats: b?.activeSeats ?? null });
  }
  return { from, to, stepMs, points };
}

function startOfMinute(t: number): number {
  return t - (t % MINUTE_MS);
}
