import { LicensorError } from '../errors';

/**
 * Work that outlived its request: the marketplace waits 5 s at most (§3.1), so a slow activity is
 * answered 000004 and finishes here. Shutdown waits for it; tests wait for it instead of sleeping.
 */
export class BackgroundWork {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly onError: (err: unknown) => void = () => {}) {}

  /** Races `work` against the budget: its value when it finishes in time, `late` when it does not. */
  async withinBudget<T>(work: Promise<T>, budgetMs: number): Promise<{ late: false; value: T } | { late: true }> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), budgetMs);
    });
    try {
      const first = await Promise.race([work.then((value) => ({ value })), deadline]);
      if (first !== 'late') return { late: false, value: first.value };
    } finally {
      clearTimeout(timer);
    }
    this.track(work);
    return { late: true };
  }

  /** Keeps work that follows an answer (an owed upload, say) until it has finished; close() waits for it. */
  track(work: Promise<unknown>): void {
    const tracked = work.catch(this.onError).finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  /** Resolves when every piece of late work has finished (successfully or not). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}

/**
 * Runs `work` again while it fails because the database is out of reach (SQLite busy past its
 * timeout, a lost connection), waiting twice as long each time: for work whose outcome an answer
 * already promised (newInstance's instance id). Any other failure, or the last one, is thrown.
 */
export async function retryWhileUnavailable<T>(work: () => Promise<T>, attempts = 5, firstDelayMs = 500): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= attempts || !(err instanceof LicensorError && err.kind === 'unavailable')) throw err;
      await new Promise((resolve) => setTimeout(resolve, firstDelayMs * 2 ** (attempt - 1)));
    }
  }
}
