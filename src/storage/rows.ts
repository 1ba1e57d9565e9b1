/** Small conversions shared by the stores: JSON text columns, engine booleans, page cursors. */

export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function fromJson<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined) return fallback;
  return JSON.parse(text) as T;
}

/** SQLite answers 0/1, PostgreSQL true/false. */
export function toBool(value: unknown): boolean {
  return value === true || value === 1 || value === '1';
}

export interface Cursor {
  at: number;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${cursor.at}:${cursor.id}`).toString('base64url');
}

/** A cursor we did not make reads as "from the start" rather than failing the request. */
export function decodeCursor(text: string | null): Cursor | null {
  if (!text) return null;
  const [at, id] = Buffer.from(text, 'base64url').toString().split(':');
  if (!at || !id || !/^\d{1,15}$/.test(at) || !/^[0-9a-f-]{36}$/.test(id)) return null;
  return { at: Number(at), id };
}
