import { CODE_STATUSES } from '../domain/types';
import type { ScrapeFigures } from '../metrics/licensor-metrics';
import type { Database } from './database';

/**
 * The figures /metrics shows from the database: codes per status, and per product the seats
 * taken and the seats of usable codes. Two grouped reads, run when Prometheus scrapes (and
 * cached by the caller), never on a request.
 */
export async function readScrapeFigures(database: Database): Promise<ScrapeFigures> {
  const db = database.knex;
  const codeRows = (await db('codes').select('status').count({ n: '*' }).groupBy('status')) as Array<{ status: string; n: number | string }>;
  const seatRows = (await db.raw(
    `SELECT p.name AS product,
            (SELECT COUNT(*) FROM activations a WHERE a.product_id = p.id AND a.status = 'active') AS used,
            (SELECT COALESCE(SUM(c.seats), 0) FROM codes c WHERE c.product_id = p.id AND c.status IN ('issued', 'alive')) AS licensed
       FROM products p`,
  )) as unknown;
  // knex.raw answers rows directly on SQLite and as { rows } on PostgreSQL.
  const rows = (Array.isArray(seatRows) ? seatRows : (seatRows as { rows: unknown[] }).rows) as Array<{ product: string; used: number | string; licensed: number | string }>;
  return {
    codesByStatus: Object.fromEntries([...CODE_STATUSES.map((s) => [s, 0]), ...codeRows.map((r) => [r.status, Number(r.n)])]),
    seats: rows.map((r) => ({ product: r.product, used: Number(r.used), licensed: Number(r.licensed) })),
  };
}
