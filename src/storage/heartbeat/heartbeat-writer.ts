import type { ActivationStore, BeatCount, HeartbeatRecorder, HeartbeatStatsStore } from '../../domain/ports';

const MINUTE_MS = 60_000;

/**
 * Coalesces heartbeat liveness writes: the latest beat per activation is kept in memory and
 * written in one statement per interval, instead of one write per beat. A crash loses at most
 * one interval of liveness (never a seat or an activation); the interval must stay well under
 * half the shortest lease, which the domain relies on for the culling race.
 *
 * It also counts beats per product per minute for the dashboard's chart and adds them with the
 * same flush: a map increment per beat, one upsert per flush, nothing awaited on the request.
 */
export class CoalescingHeartbeatWriter implements HeartbeatRecorder {
  private pending = new Map<string, number>();
  /** `${minute}:${productId}` → beats not yet written. */
  private counts = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly activations: Pick<ActivationStore, 'touchMany'>,
    private readonly stats: Pick<HeartbeatStatsStore, 'addBeats'>,
    private readonly intervalMs = 1000,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  record(activationId: string, at: number): void {
    const previous = this.pending.get(activationId);
    if (previous === undefined || previous < at) this.pending.set(activationId, at);
    this.schedule();
  }

  countBeat(productId: string, at: number): void {
    const key = `${at - (at % MINUTE_MS)}:${productId}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.schedule();
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Writes everything recorded so far; concurrent calls queue behind each other. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      await this.writeLiveness();
      await this.writeCounts();
    });
    const result = this.flushing;
    this.flushing = this.flushing.catch(() => {});
    return result;
  }

  /** Stops the timer and writes what is left (graceful shutdown). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush().catch(this.onError);
    }, this.intervalMs);
    this.timer.unref();
  }

  private async writeLiveness(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.activations.touchMany(batch);
    } catch (err) {
      // Keep the beats for the next attempt (newer beats recorded meanwhile win).
      for (const [id, at] of batch) if (!(this.pending.get(id)! >= at)) this.pending.set(id, at);
      throw err;
    }
  }

  private async writeCounts(): Promise<void> {
    if (this.counts.size === 0) return;
    const batch = this.counts;
    this.counts = new Map();
    const rows: BeatCount[] = [];
    for (const [key, beats] of batch) {
      const colon = key.indexOf(':');
      rows.push({ minute: Number(key.slice(0, colon)), productId: key.slice(colon + 1), beats });
    }
    try {
      await this.stats.addBeats(rows);
    } catch (err) {
      // Add them back to what was counted meanwhile; the next flush tries again.
      for (const [key, beats] of batch) this.counts.set(key, (this.counts.get(key) ?? 0) + beats);
      throw err;
    }
  }
}
