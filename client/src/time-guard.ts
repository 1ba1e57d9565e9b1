/**
 * The high-water mark of time this client has seen (docs/client.md#the-clock): a clock set back
 * behind it is `clock_tampered`. Kept in memory on the hot path and written to a MACed file at most
 * once a minute (and after every server contact), so that a restart remembers it. The server's own
 * time arrives as each token's `iat` and raises the mark too, so deleting the file only rolls the
 * mark back to the last time the server vouched for.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './contract/atomic-file';

const FORMAT = 'licensor-clock';
const PERSIST_EVERY_MS = 60_000;

export class TimeGuard {
  private highWater = 0;
  private persisted = 0;
  private loaded = false;
  private writing: Promise<void> | null = null;
  private dirty = false;

  /** `file` is `storePaths(…).clock` (license-client.ts). */
  constructor(
    readonly file: string,
    private readonly product: string,
    private readonly macKey: Buffer,
  ) {}

  private mac(highWater: number): string {
    return createHmac('sha256', this.macKey).update(`${FORMAT}\0${this.product}\0${highWater}`).digest('hex');
  }

  /** Reads the stored mark once. A missing, unreadable or edited file counts as no mark. */
  load(): void {
    if (this.loaded) return;
    this.loaded = true;
    try {
      const file = JSON.parse(readFileSync(this.file, 'utf8')) as { format?: unknown; highWater?: unknown; mac?: unknown };
      if (file.format !== FORMAT || typeof file.highWater !== 'number' || !Number.isFinite(file.highWater) || typeof file.mac !== 'string') return;
      const expected = Buffer.from(this.mac(file.highWater), 'hex');
      const given = Buffer.from(file.mac, 'hex');
      if (given.length === expected.length && timingSafeEqual(given, expected)) {
        this.highWater = Math.max(this.highWater, file.highWater);
        this.persisted = file.highWater;
      }
    } catch {
      // No file yet, or a damaged one: the token's iat still bounds how far back the clock may go.
    }
  }

  get highWaterMs(): number {
    return this.highWater;
  }

  /** Hot path: one comparison, and a background write at most once a minute. */
  observe(now: number): void {
    if (now <= this.highWater) return;
    this.highWater = now;
    if (now - this.persisted >= PERSIST_EVERY_MS) void this.flush().catch(() => undefined);
  }

  /** A time known to have passed (a token's iat from the server). */
  raise(ms: number): void {
    if (ms > this.highWater) this.highWater = ms;
  }

  /**
   * The server's time, verified and fresh (a token answering this client's own nonce): the mark
   * becomes exactly that, down as well as up, so a clock that was once set ahead and then
   * corrected recovers at the next successful contact. Written at once.
   */
  async reanchor(serverMs: number): Promise<void> {
    this.highWater = serverMs;
    this.persisted = 0;
    await this.flush();
  }

  /** Writes the mark now; concurrent calls coalesce into one more write. */
  async flush(): Promise<void> {
    if (this.writing) {
      this.dirty = true;
      return this.writing;
    }
    const value = this.highWater;
    // Counted as written when tried, so a read-only directory costs one attempt a minute, not one per check.
    this.persisted = Math.max(this.persisted, value);
    this.writing = writeFileAtomic(this.file, JSON.stringify({ format: FORMAT, highWater: value, mac: this.mac(value) }) + '\n').finally(() => {
      this.writing = null;
    });
    await this.writing;
    if (this.dirty) {
      this.dirty = false;
      await this.flush();
    }
  }
}
