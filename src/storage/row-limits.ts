/**
 * Row limits written into SQL, never bound. The SQLite that `sqlite3` bundles (3.52) plans a bound
 * LIMIT as the number bound and marks the statement to be compiled again whenever that parameter
 * is bound anew, even to the same number: a statement kept prepared (database.ts) was compiled at
 * every run. The change feed's read, which follows every commit, was
 * (docs/data-model.md "Statements on SQLite").
 */

/** `LIMIT n` with the number written in, for hand-written statements. */
export function limitClause(rows: number): string {
  if (!isRowCount(rows)) throw new RangeError(`a row limit must be a whole number ≥ 0, not ${rows}`);
  return `LIMIT ${rows}`;
}

/** How the query builder ends a statement whose row limit it bound (`.first()`, `.limit(n)` without an offset). */
const BOUND_LIMIT = ' limit ?';

/**
 * The query builder's statement with its bound row limit, its last `?` and so its last binding,
 * written in; any other statement as it is.
 */
export function limitWrittenIn(sql: string, bindings: unknown[]): { sql: string; bindings: unknown[] } {
  const rows = bindings[bindings.length - 1];
  if (!sql.endsWith(BOUND_LIMIT) || !isRowCount(rows)) return { sql, bindings };
  return { sql: `${sql.slice(0, -BOUND_LIMIT.length)} ${limitClause(rows)}`, bindings: bindings.slice(0, -1) };
}

function isRowCount(rows: unknown): rows is number {
  return typeof rows === 'number' && Number.isSafeInteger(rows) && rows >= 0;
}
