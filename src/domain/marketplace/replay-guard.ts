import type { DomainContext } from '../context';
import { Unauthorized } from '../errors';

/** §3.2: the vendor refuses a timestamp more than 60 s from its own clock. */
const REQUEST_WINDOW_MS = 60_000;

/**
 * Refuses stale timestamps and replayed nonces (docs/marketplace.md §3.2). Nonces go to
 * the shared `nonces` table, so a replay is refused by whichever server process it reaches.
 * A nonce is kept until its request's timestamp has left the window (plus the window again, for
 * clock differences between processes); expired ones are pruned at most once a window per process.
 */
export class ReplayGuard {
  private lastPrune = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ctx: Pick<DomainContext, 'repo' | 'clock'>,
    private readonly scope = 'produce',
    /** How far from the server clock a request's time may be; the open API's is 15 minutes. */
    private readonly windowMs = REQUEST_WINDOW_MS,
  ) {}

  /** `timestamp` is milliseconds since the epoch (a 10-digit seconds value is read as seconds). */
  async admit(nonce: string, timestamp: string): Promise<void> {
    const now = this.ctx.clock.now();
    if (!/^\d{10}$|^\d{13}$/.test(timestamp)) throw new Unauthorized('timestamp_invalid', 'timestamp must be UNIX time in milliseconds');
    const at = timestamp.length === 10 ? Number(timestamp) * 1000 : Number(timestamp);
    if (Math.abs(now - at) > this.windowMs) {
      throw new Unauthorized('timestamp_stale', `timestamp is more than ${this.windowMs / 1000} s away from the server clock`);
    }
    await this.claim(nonce, at);
  }

  /** Records the nonce of a request made at `at`, which the caller found inside the window; a nonce seen before is a replay. */
  async claim(nonce: string, at: number): Promise<void> {
    const now = this.ctx.clock.now();
    if (now - this.lastPrune > this.windowMs) {
      this.lastPrune = now;
      await this.ctx.repo.nonces.pruneExpired(now);
    }
    const fresh = await this.ctx.repo.nonces.claim(`${this.scope}:${nonce}`, now, Math.max(now, at) + 2 * this.windowMs);
    if (!fresh) throw new Unauthorized('nonce_replayed', 'this request was seen before: it is a replay');
  }
}
