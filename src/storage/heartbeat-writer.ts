import type { HeartbeatRecorder } from '../domain/ports';
import type { ActivationStore } from '../domain/ports';

/**
 * Coalesces heartbeat liveness writes: the latest beat per activation is kept in memory and
 * written in one statement per interval, instead of one write per beat. A crash loses at most
 * one interval of liveness (never a seat or an activation); the interval must stay well under
 * half the shortest lease, which the domain relies on for the culling race.
 */
export class CoalescingHeartbeatWriter implements HeartbeatRecorder {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly activations: Pick<ActivationStore, 'touchMany'>,
    private readonly intervalMs = 1000,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  record(activationId: string, at: number): void {
    const previous = this.pending.get(activationId);
    if (previous === undefined || previous < at) this.pending.set(activationId, at);
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush().catch(this.onError);
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Writes everything recorded so far; concurrent calls queue behind each other. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
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
}
