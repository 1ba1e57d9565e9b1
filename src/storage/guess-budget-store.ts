import type { Knex } from 'knex';
import type { BudgetRule, GuessBudgetStore } from '../domain/ports';
import type { Database } from './database';
import { sqlRows } from './direct-sql';
import { translate } from './repository';

/**
 * The guessing guard's budgets (src/http/rate-limit.ts), kept as one number per budget: `full_at`,
 * the instant the budget is full again (a "generic cell rate" bucket). Taking an attempt moves it
 * one interval later, from now at the earliest; the attempt is allowed when it does not move past
 * now + burst × interval. Giving one back moves it one interval earlier, never before now.
 */

/** One place chooses: PostgreSQL shares the budgets across server processes; SQLite has one server process per file. */
export function openGuessBudgetStore(database: Database): GuessBudgetStore {
  return database.engine === 'postgres' ? new SqlGuessBudgetStore(database.knex) : new MemoryGuessBudgetStore();
}

const PRUNE_EVERY_MS = 60_000;

/**
 * The `guess_budgets` table (migration 012): one statement per attempt, hand-written and sent
 * to a pooled connection (sqlRows), not through knex's runner. A multi-row upsert takes
 * from every budget that has an attempt left, under each row's lock (ON CONFLICT … WHERE reads the
 * row as committed, so racing processes never both take the last attempt), in key order so two
 * statements never wait on each other crosswise. When one budget had none, the others are given
 * back (a second statement, on the refused path only).
 */
class SqlGuessBudgetStore implements GuessBudgetStore {
  private lastPrune = Number.NEGATIVE_INFINITY;

  constructor(private readonly knex: Knex) {}

  /** A lost database is 503 here as everywhere (repository.ts), never a 500. */
  take(rules: readonly BudgetRule[], now: number): Promise<BudgetRule[]> {
    return this.takeFrom(rules, now).catch((err: unknown) => Promise.reject(translate(err)));
  }

  giveBack(rules: readonly BudgetRule[], now: number): Promise<void> {
    return this.giveBackTo(rules, now).catch((err: unknown) => Promise.reject(translate(err)));
  }

  private async takeFrom(rules: readonly BudgetRule[], now: number): Promise<BudgetRule[]> {
    if (rules.length === 0) return [];
    await this.pruneNowAndThen(now);
    const sorted = byKey(rules);
    // A new row is inserted with one attempt taken; `span` carries burst × interval to the conflict clause.
    const rows = await sqlRows<{ key: string }>(
      this.knex,
      `INSERT INTO guess_budgets AS b (key, full_at, span) ${valuesCommittedAsync(sorted.length)}
       ON CONFLICT (key) DO UPDATE SET full_at = GREATEST(b.full_at, ?) + (EXCLUDED.full_at - ?)
       WHERE GREATEST(b.full_at, ?) + (EXCLUDED.full_at - ?) <= ? + EXCLUDED.span
       RETURNING key`,
      [...sorted.flatMap((r) => [r.key, now + r.intervalMs, r.burst * r.intervalMs]), now, now, now, now, now],
    );
    const taken = new Set(rows.map((row) => row.key));
    const refused = rules.filter((r) => !taken.has(r.key));
    if (refused.length > 0 && taken.size > 0)
      await this.giveBackTo(
        sorted.filter((r) => taken.has(r.key)),
        now,
      );
    return refused;
  }

  private async giveBackTo(rules: readonly BudgetRule[], now: number): Promise<void> {
    if (rules.length === 0) return;
    const sorted = byKey(rules);
    // A row pruned meanwhile was full: inserted as full (in the past), it changes nothing.
    await sqlRows(
      this.knex,
      `INSERT INTO guess_budgets AS b (key, full_at, span) ${valuesCommittedAsync(sorted.length)}
       ON CONFLICT (key) DO UPDATE SET full_at = GREATEST(?, b.full_at - (? - EXCLUDED.full_at))`,
      [...sorted.flatMap((r) => [r.key, now - r.intervalMs, r.burst * r.intervalMs]), now, now],
    );
  }

  /**
   * A full budget needs no row: rows are deleted once full, at most once a minute per process.
   * Rows a take or give-back holds are skipped, not waited for: the delete would lock rows in its
   * scan's order, and a take holding one of them while it waits for another that the delete holds
   * is a deadlock, which PostgreSQL breaks after a second by failing one of them (seen as 503s
   * among 64 concurrent activations). A skipped row is pruned next time.
   */
  private async pruneNowAndThen(now: number): Promise<void> {
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    await sqlRows(this.knex, 'DELETE FROM guess_budgets WHERE key IN (SELECT key FROM guess_budgets WHERE full_at <= ? FOR UPDATE SKIP LOCKED)', [now]);
  }
}

/** In memory, for one server process; the least recently used budgets are forgotten first, so memory stays bounded. */
class MemoryGuessBudgetStore implements GuessBudgetStore {
  private readonly fullAt = new Map<string, number>();

  constructor(private readonly maxKeys = 100_000) {}

  async take(rules: readonly BudgetRule[], now: number): Promise<BudgetRule[]> {
    const next = rules.map((r) => Math.max(this.fullAt.get(r.key) ?? now, now) + r.intervalMs);
    const refused = rules.filter((r, i) => next[i]! > now + r.burst * r.intervalMs);
    // All or nothing, at once: nothing runs between the check and the change in one process.
    if (refused.length === 0) rules.forEach((r, i) => this.set(r.key, next[i]!));
    return refused;
  }

  async giveBack(rules: readonly BudgetRule[], now: number): Promise<void> {
    for (const r of rules) {
      const at = this.fullAt.get(r.key);
      if (at !== undefined) this.set(r.key, Math.max(now, at - r.intervalMs));
    }
  }

  private set(key: string, fullAt: number): void {
    this.fullAt.delete(key);
    this.fullAt.set(key, fullAt);
    if (this.fullAt.size > this.maxKeys) this.fullAt.delete(this.fullAt.keys().next().value!);
  }
}

/**
 * The budget rows to upsert, from a statement that also commits without waiting for the WAL flush
 * (synchronous_commit off for its own transaction only): a budget write lost with a PostgreSQL
 * crash gives a guesser back a few attempts, and waiting for the flush twice per activation (take
 * and give back) was most of an activation's time on PostgreSQL
 * (docs/performance.md#an-activation-asks-the-database-few-questions). An
 * unreferenced subquery would not run, hence the join.
 */
function valuesCommittedAsync(rows: number): string {
  const tuples = Array.from({ length: rows }, () => '(CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT))').join(', ');
  return `SELECT v.key, v.full_at, v.span FROM (VALUES ${tuples}) AS v (key, full_at, span)
          CROSS JOIN (SELECT set_config('synchronous_commit', 'off', true)) AS async`;
}

function byKey(rules: readonly BudgetRule[]): BudgetRule[] {
  return [...rules].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
