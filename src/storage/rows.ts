import type { Knex } from 'knex';
import type { Page } from '../domain/types';

/** Small conversions shared by the stores: JSON text columns, nullable numbers, engine booleans, page cursors. */

export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function fromJson<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined) return fallback;
  return JSON.parse(text) as T;
}

/** A nullable numeric column: BIGINT may come back as a string; SQL NULL (or a column not read) is null. */
export function numberOrNull(value: number | string | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** SQLite answers 0/1, PostgreSQL true/false. */
export function toBool(value: unknown): boolean {
  return value === true || value === 1 || value === '1';
}

interface Cursor {
  at: number;
  id: string;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${cursor.at}:${cursor.id}`).toString('base64url');
}

/**
 * A cursor we did not make reads as "from the start" rather than failing the request. Ids are
 * not all UUIDs (marketplace instance ids are the marketplace's businessId), so the id is only
 * kept free of control characters, which PostgreSQL refuses in text.
 */
function decodeCursor(text: string | null): Cursor | null {
  if (!text) return null;
  const decoded = Buffer.from(text, 'base64url').toString();
  const colon = decoded.indexOf(':');
  const at = decoded.slice(0, colon);
  const id = decoded.slice(colon + 1);
  if (colon < 0 || !/^\d{1,15}$/.test(at) || !/^[^\p{Cc}]{1,256}$/u.test(id)) return null;
  return { at: Number(at), id };
}

/**
 * One page of a list read newest first by (time, id): the rows after the cursor, and the cursor
 * of the page's last row when more follow.
 */
export async function keysetPage<Item>(
  query: Knex.QueryBuilder,
  columns: { at: string; id: string },
  cursor: string | null,
  limit: number,
  toItem: (row: any) => Item, // eslint-disable-line @typescript-eslint/no-explicit-any -- a row as the driver returns it
  keyOf: (item: Item) => Cursor,
): Promise<Page<Item>> {
  const after = decodeCursor(cursor);
  if (after) {
    query.where((w) => w.where(columns.at, '<', after.at).orWhere((w2) => w2.where(columns.at, after.at).andWhere(columns.id, '<', after.id)));
  }
  const rows = await query
    .orderBy([
      { column: columns.at, order: 'desc' },
      { column: columns.id, order: 'desc' },
    ])
    .limit(limit + 1);
  const items = rows.slice(0, limit).map(toItem);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
