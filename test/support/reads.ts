import type { Knex } from 'knex';
import { engineOf } from '../../src/storage/database';

/** What the statements a piece of work issued read: rows per table (PostgreSQL) or the plans (SQLite). */
export async function whatWasRead(
  knex: Knex,
  engine: string,
  work: (trx: Knex.Transaction) => Promise<void>,
  tables: string[] = ['activations', 'activation_anchors'],
): Promise<{ rows: Record<string, number>; plans: string[] }> {
  const statements: Array<{ sql: string; bindings: unknown[] }> = [];
  const listen = (q: { sql: string; bindings: unknown[] }) => statements.push(q);
  return knex.transaction(async (trx) => {
    // The connection's counters not yet sent to the statistics (PostgreSQL 15 also counts earlier
    // transactions of the same connection in them): the figure is the difference across the work.
    const counters = async (): Promise<Record<string, number>> => {
      const stats = await trx.raw(
        `SELECT relname, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) AS n FROM pg_stat_xact_user_tables WHERE relname = ANY(?)`,
        [tables],
      );
      return Object.fromEntries(stats.rows.map((r: { relname: string; n: string }) => [r.relname, Number(r.n)]));
    };
    const before = engine === 'postgres' ? await counters() : {};
    knex.on('query', listen);
    try {
      await work(trx);
    } finally {
      knex.off('query', listen);
    }
    if (engine === 'postgres') {
      const after = await counters();
      return { rows: Object.fromEntries(Object.entries(after).map(([table, n]) => [table, n - (before[table] ?? 0)])), plans: [] };
    }
    const plans: string[] = [];
    for (const s of statements) {
      const plan = (await trx.raw(`EXPLAIN QUERY PLAN ${s.sql}`, s.bindings as Knex.RawBinding[])) as Array<{ detail: string }>;
      plans.push(...plan.map((p) => p.detail));
    }
    return { rows: {}, plans };
  });
}

/**
 * Counts the statements that look a code up by the code itself (`codes` where `code` = ?, read or
 * locked: an activation finds its code by the statement that locks it), as the server's own
 * database client issues them: what a guess costs, whatever the answer says. The read that goes
 * out behind the lock on PostgreSQL, and names the code's product through the code
 * (CodeStore.lockForSeat), is part of the same lookup, not another.
 */
export function countCodeLookups(knex: Knex): { count(): number; stop(): void } {
  let count = 0;
  const listen = (q: { sql: string }) => {
    if (/\(SELECT product_id FROM codes WHERE code = /.test(q.sql)) return;
    if (/(from|update) [`"]?codes[`"]? (set .* )?where [`"]?code[`"]? = /i.test(q.sql)) count++;
  };
  knex.on('query', listen);
  return { count: () => count, stop: () => void knex.off('query', listen) };
}

/** The SQL texts the database client issued while `work` ran, in order (knex's `query` event, which hand-written statements raise too). */
export async function statementsDuring(knex: Knex, work: () => Promise<unknown>): Promise<string[]> {
  const heard: string[] = [];
  const listen = (q: { sql: string }) => heard.push(q.sql);
  knex.on('query', listen);
  try {
    await work();
  } finally {
    knex.off('query', listen);
  }
  return heard;
}

const firstWord = (sql: string) => sql.trim().split(/\s+/)[0]!.toUpperCase();

/**
 * Each statement handed to a pooled connection's driver while `work` runs: its first word, and how
 * many statements handed to the same connection before it were still unanswered. More than none
 * is a statement sent ahead of their answers, in the same round trip (docs/data-model.md
 * "Statements on PostgreSQL"). Several statements in one call (SQLite's `exec`) are one entry,
 * their first words joined by " + ".
 */
export async function statementsInFlight(knex: Knex, work: () => Promise<unknown>): Promise<Array<[string, number]>> {
  const sent: Array<[string, number]> = [];
  const postgres = engineOf(knex) === 'postgres';
  const unansweredOn = new WeakMap<object, Set<object>>();
  const record = (connection: object, sql: string) => {
    const unanswered = unansweredOn.get(connection) ?? new Set<object>();
    unansweredOn.set(connection, unanswered);
    const token = {};
    sent.push([sql, unanswered.size]);
    unanswered.add(token);
    return () => unanswered.delete(token);
  };
  const pool = knex.client as { acquireConnection(): Promise<Record<string, (...args: unknown[]) => unknown>> };
  const acquire = pool.acquireConnection;
  const methods = postgres ? ['query'] : ['all', 'exec'];
  /** Each connection wrapped, and how to unwrap it. */
  const restores = new Map<object, () => void>();
  const wrap = (connection: Record<string, (...args: unknown[]) => unknown>, method: string) => {
    const original = connection[method]!;
    return [
      () => (connection[method] = original),
      function (this: unknown, ...args: unknown[]) {
        const first = args[0];
        const text = typeof first === 'string' ? first : (first as { text: string }).text;
        const answered = record(connection, method === 'exec' ? text.split(';\n').map(firstWord).join(' + ') : firstWord(text));
        // SQLite's and knex's own statements pass a callback; hand-written PostgreSQL ones take the promise.
        const done = args[args.length - 1];
        if (typeof done === 'function') {
          return original.call(this, ...args.slice(0, -1), (...results: unknown[]) => {
            answered();
            (done as (...results: unknown[]) => void)(...results);
          });
        }
        const answer = original.call(this, ...args) as Promise<unknown>;
        answer.then(answered, answered);
        return answer;
      },
    ] as const;
  };
  pool.acquireConnection = async function (this: unknown) {
    const connection = await acquire.call(this);
    if (restores.has(connection)) return connection;
    const wrapped = methods.map((method) => {
      const [restore, wrapper] = wrap(connection, method);
      connection[method] = wrapper;
      return restore;
    });
    restores.set(connection, () => wrapped.forEach((restore) => restore()));
    return connection;
  };
  try {
    await work();
  } finally {
    pool.acquireConnection = acquire;
    for (const restore of restores.values()) restore();
  }
  return sent;
}
