import sqlite3 from 'sqlite3';

/** How often the background checkpoint copies what was committed into the database file. */
export const CHECKPOINT_INTERVAL_MS = 250;

/**
 * Pages the WAL may hold before the writer checkpoints in its own commit: SQLite's default is
 * 1,000 (4 MiB); this is the bound for when the background checkpoint cannot keep up or is not
 * running (10,000 pages of 4 KiB: 40 MiB).
 */
export const WRITER_CHECKPOINT_PAGES = 10_000;

/** What one checkpoint found (SQLite's wal_checkpoint row): frames in the WAL, and how many are in the database file. */
export interface CheckpointResult {
  /** Another checkpoint was running (in another process): this one did nothing. */
  busy: boolean;
  /** Frames in the WAL; -1 when the file is not in WAL mode (yet). */
  walFrames: number;
  /** Of those, the frames now copied into the database file. */
  checkpointed: number;
}

/** What a checkpointer has done since it opened (for /metrics). */
export interface CheckpointTally {
  /** Checkpoints made: the timer's and those asked for. */
  made: number;
  /** Timer ticks that found a checkpoint still copying and left it to finish. */
  skipped: number;
}

/**
 * Copies committed pages from the WAL into the database file on a connection of its own, so that
 * no commit pays for it. SQLite otherwise checkpoints inside the commit that takes the WAL past
 * 1,000 pages: that commit holds the one writer while it copies and syncs the file, and every
 * write behind it waits (docs/performance.md#sqlite-checkpoints-in-the-background). A PASSIVE
 * checkpoint takes no lock a writer or a reader waits for, and copies only frames no reader still
 * needs; the writer's own checkpoint stays as the bound (WRITER_CHECKPOINT_PAGES). Crash safety is
 * SQLite's: a checkpoint interrupted by a crash is done again from the WAL at the next open.
 */
export class SqliteCheckpointer {
  private readonly connection: sqlite3.Database;
  private readonly timer: NodeJS.Timeout;
  private running: Promise<CheckpointResult | null> = Promise.resolve(null);
  private closed = false;
  private last: CheckpointResult | null = null;
  /** Checkpoints asked for and not finished: a tick finding one skips, so slow copies never queue up. */
  private inFlight = 0;
  private readonly counts: CheckpointTally = { made: 0, skipped: 0 };

  constructor(file: string, intervalMs = CHECKPOINT_INTERVAL_MS, onError: (err: unknown) => void = () => {}) {
    this.connection = new sqlite3.Database(file, sqlite3.OPEN_READWRITE, (err) => {
      if (err) onError(err);
    });
    this.connection.configure('busyTimeout', 10_000);
    this.timer = setInterval(() => {
      if (this.inFlight === 0) this.checkpoint().catch(onError);
      else this.counts.skipped++;
    }, intervalMs);
    this.timer.unref();
  }

  /** One checkpoint now, after any that is running (the timer's, or another call's). */
  checkpoint(): Promise<CheckpointResult | null> {
    this.inFlight++;
    // `running` never rejects: a failed checkpoint is its caller's to hear, and the next one still runs.
    const next = this.running.then(() => this.once());
    this.running = next.catch(() => null).finally(() => this.inFlight--);
    return next;
  }

  /** What the latest checkpoint found (for /metrics); null before the first. */
  get lastResult(): CheckpointResult | null {
    return this.last;
  }

  /** Checkpoints made and ticks skipped so far (a copy). */
  get tally(): CheckpointTally {
    return { ...this.counts };
  }

  /** Checkpoints asked for (by the timer or a call) and not finished yet. */
  get pending(): number {
    return this.inFlight;
  }

  /** Stops the timer, lets a running checkpoint finish and closes the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
    await new Promise<void>((resolve, reject) => this.connection.close((err) => (err ? reject(err) : resolve())));
  }

  private once(): Promise<CheckpointResult | null> {
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve, reject) =>
      this.connection.get('PRAGMA wal_checkpoint(PASSIVE)', (err: Error | null, row: { busy: number; log: number; checkpointed: number }) => {
        if (err) reject(err);
        else {
          this.counts.made++;
          resolve((this.last = { busy: row.busy !== 0, walFrames: row.log, checkpointed: row.checkpointed }));
        }
      }),
    );
  }
}
