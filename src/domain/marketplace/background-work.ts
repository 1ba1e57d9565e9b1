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
    const tracked = work.catch(this.onError).finally(() => this.running.delete(tracked));
    this.running.add(tracked);
    return { late: true };
  }

  /** Resolves when every piece of late work has finished (successfully or not). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
