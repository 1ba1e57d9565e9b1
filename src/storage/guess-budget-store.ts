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
 * How long an attempt given back may wait for this process's next take to carry it, before a
 * statement of its own writes it. Meanwhile other processes see the budget an attempt lower, which
 * is the safe side; this process's own takes never do (they carry it).
 */
const OWED_FLUSH_MS = 50;

/** Budgets owed attempts that one statement carries at most, and that are kept before they are written at once. */
const OWED_PER_STATEMENT = 200;

/**
 * Other budgets' owed attempts a take carries besides its own: a take is on an activation's way,
 * and each row it carries is one more row to lock and write before the answer.
 */
const OWED_CARRIED_BY_A_TAKE = 16;

/**
 * The `guess_budgets` table (migration 012): one statement per attempt, hand-written and sent
 * to a pooled connection (sqlRows), not through knex's runner. A multi-row upsert takes
 * from every budget that has an attempt left, under each row's lock (ON CONFLICT … WHERE reads the
 * row as committed, so racing processes never both take the last attempt), in key order so two
 * statements never wait on each other crosswise. When one budget had none, the others are given
 * back (a second statement, on the refused path only).
 *
 * An attempt given back after an answer (a code that was found) is not a statement of its own: it
 * is owed, in memory, and the process's next take writes it in the same statement, on the same
 * rows, before it checks them (a timer writes what no take carried). Every activation took and
 * gave back the same two budgets (its address's and the server-wide one) in two statements, a
 * quarter of what PostgreSQL activations a second cost on two cores
 * (docs/performance.md#the-guessing-guard-on-postgresql).
 */
/** Attempts given back and not yet written to a budget: their milliseconds (attempts × interval), and its span for a row that must be made. */
interface Owed {
  ms: number;
  span: number;
}

/** One attempt of `rule`, given back. */
const oneAttempt = (rule: BudgetRule): Owed => ({ ms: rule.intervalMs, span: rule.burst * rule.intervalMs });

class SqlGuessBudgetStore implements GuessBudgetStore {
  private lastPrune = Number.NEGATIVE_INFINITY;
  /** Per budget key: what is given back and not yet written. */
  private owed = new Map<string, Owed>();
  private flushTimer: NodeJS.Timeout | null = null;
  /** The latest time a caller gave (the guard's clock): what the timer writes as now. */
  private lastNow = Number.NEGATIVE_INFINITY;

  constructor(private readonly knex: Knex) {}

  /** A lost database is 503 here as everywhere (repository.ts), never a 500. */
  take(rules: readonly BudgetRule[], now: number): Promise<BudgetRule[]> {
    return this.takeFrom(rules, now).catch((err: unknown) => Promise.reject(translate(err)));
  }

  /** Owed at once, written with the next take or within OWED_FLUSH_MS; never fails. */
  giveBack(rules: readonly BudgetRule[], now: number): Promise<void> {
    this.lastNow = Math.max(this.lastNow, now);
    for (const r of rules) this.owe(r.key, oneAttempt(r));
    if (this.owed.size >= OWED_PER_STATEMENT) this.scheduleFlush(0);
    else this.scheduleFlush(OWED_FLUSH_MS);
    return Promise.resolve();
  }

  private async takeFrom(rules: readonly BudgetRule[], now: number): Promise<BudgetRule[]> {
    if (rules.length === 0) return [];
    this.lastNow = Math.max(this.lastNow, now);
    await this.pruneNowAndThen(now);
    const carried = this.carry(
      rules.map((r) => r.key),
      rules.length + OWED_CARRIED_BY_A_TAKE,
    );
    // A row per budget, in key order: taken (one interval later) and given back what it was owed.
    const rows = new Map<string, { took: number; back: number; span: number }>();
    for (const r of rules) rows.set(r.key, { took: r.intervalMs, back: 0, span: r.burst * r.intervalMs });
    for (const [key, o] of carried) {
      const row = rows.get(key);
      if (row) row.back = o.ms;
      else rows.set(key, { took: 0, back: o.ms, span: o.span });
    }
    const keys = [...rows.keys()].sort();
    let returned: { key: string }[];
    try {
      // A new row is inserted with one attempt taken (or full, when it was only owed); `back` is
      // read by key from the arrays, since ON CONFLICT sees only the proposed row's own columns.
      // A row only owed is always written; a taken one only when the attempt fits its span.
      const back = `GREATEST(?, b.full_at - (SELECT o.back FROM unnest(CAST(? AS TEXT[]), CAST(? AS BIGINT[])) AS o (key, back) WHERE o.key = b.key))`;
      const backs = [keys, keys.map((k) => rows.get(k)!.back)];
      returned = await sqlRows<{ key: string }>(
        this.knex,
        `INSERT INTO guess_budgets AS b (key, full_at, span) ${valuesCommittedAsync(keys.length)}
         ON CONFLICT (key) DO UPDATE SET full_at = ${back} + (EXCLUDED.full_at - ?)
         WHERE EXCLUDED.full_at = ? OR ${back} + (EXCLUDED.full_at - ?) <= ? + EXCLUDED.span
         RETURNING key`,
        [...keys.flatMap((k) => [k, now + rows.get(k)!.took, rows.get(k)!.span]), now, ...backs, now, now, now, ...backs, now, now],
      );
    } catch (err) {
      for (const [key, o] of carried) this.owe(key, o);
      throw err;
    }
    const written = new Set(returned.map((row) => row.key));
    // A budget refused was not written: what it was owed still is.
    for (const [key, o] of carried) if (!written.has(key)) this.owe(key, o);
    const refused = rules.filter((r) => !written.has(r.key));
    const taken = rules.filter((r) => written.has(r.key));
    if (refused.length > 0 && taken.length > 0) await this.giveBackTo(new Map(taken.map((r) => [r.key, oneAttempt(r)])), now);
    return refused;
  }

  /** What is owed, taken out to go with a statement: the take's own budgets first, then others, `most` in all. */
  private carry(first: readonly string[], most: number): Map<string, Owed> {
    const carried = new Map<string, Owed>();
    for (const key of first) {
      const o = this.owed.get(key);
      if (o) carried.set(key, o);
    }
    for (const [key, o] of this.owed) {
      if (carried.size >= most) break;
      carried.set(key, o);
    }
    for (const key of carried.keys()) this.owed.delete(key);
    return carried;
  }

  private owe(key: string, more: Owed): void {
    const o = this.owed.get(key);
    if (o) o.ms += more.ms;
    else this.owed.set(key, { ...more });
  }

  private scheduleFlush(afterMs: number): void {
    if (this.flushTimer && afterMs > 0) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flushOwed().catch(() => undefined);
    }, afterMs);
    this.flushTimer.unref();
  }

  /**
   * Writes what no take carried. A failure (the database away, or closed) keeps it owed for the
   * next take, or the timer the next give-back sets: no retries of its own, which after a
   * shutdown would never end.
   */
  private async flushOwed(): Promise<void> {
    const carried = this.carry([], OWED_PER_STATEMENT);
    if (carried.size === 0) return;
    try {
      await this.giveBackTo(carried, this.lastNow);
    } catch (err) {
      for (const [key, o] of carried) this.owe(key, o);
      throw err;
    }
    if (this.owed.size > 0) this.scheduleFlush(this.owed.size >= OWED_PER_STATEMENT ? 0 : OWED_FLUSH_MS);
  }

  /** Gives back what each budget is owed, now, in key order. */
  private async giveBackTo(owed: ReadonlyMap<string, Owed>, now: number): Promise<void> {
    if (owed.size === 0) return;
    const keys = [...owed.keys()].sort();
    // A row pruned meanwhile was full: inserted as full (in the past), it changes nothing.
    await sqlRows(
      this.knex,
      `INSERT INTO guess_budgets AS b (key, full_at, span) ${valuesCommittedAsync(keys.length)}
       ON CONFLICT (key) DO UPDATE SET full_at = GREATEST(?, b.full_at - (? - EXCLUDED.full_at))`,
      [...keys.flatMap((key) => [key, now - owed.get(key)!.ms, owed.get(key)!.span]), now, now],
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
