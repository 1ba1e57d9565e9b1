import { CODE_STATUSES, isUsable, type OutboxSummaryRow } from '../domain/types';
import type { Database } from './database';
import { KnexOutboxStore } from './outbox-store';
import { countWebhookEndpoints } from './webhook-store';

/** What /metrics shows from the database. */
export interface ScrapeFigures {
  codesByStatus: Record<string, number>;
  seats: Array<{ product: string; used: number; licensed: number }>;
  /** Outbox entries per kind and status, with the oldest one's creation time. */
  outbox: OutboxSummaryRow[];
  /** Webhook endpoints switched on and off (docs/webhooks.md). */
  webhookEndpoints: { on: number; off: number };
}

/**
 * The figures /metrics shows from the database: codes per status, and per product the seats
 * taken and the seats of usable codes. Run when Prometheus scrapes (and cached by the caller),
 * never on a request. Codes are read in one grouped pass: no index holds their status (migration
 * 009), and the seats of usable codes needed every code row anyway.
 */
export async function readScrapeFigures(database: Database): Promise<ScrapeFigures> {
  const db = database.knex;
  const codeRows = (await db('codes').select('product_id', 'status').count({ n: '*' }).sum({ seats: 'seats' }).groupBy('product_id', 'status')) as Array<{
    product_id: string;
    status: string;
    n: number | string;
    seats: number | string | null;
  }>;
  const productRows = (await db.raw(
    `SELECT p.id, p.name AS product,
            (SELECT COUNT(*) FROM activations a WHERE a.product_id = p.id AND a.status = 'active') AS used
       FROM products p`,
  )) as unknown;
  // knex.raw answers rows directly on SQLite and as { rows } on PostgreSQL.
  const products = (Array.isArray(productRows) ? productRows : (productRows as { rows: unknown[] }).rows) as Array<{
    id: string;
    product: string;
    used: number | string;
  }>;
  const codesByStatus: Record<string, number> = Object.fromEntries(CODE_STATUSES.map((s) => [s, 0]));
  const licensed = new Map<string, number>();
  for (const r of codeRows) {
    codesByStatus[r.status] = (codesByStatus[r.status] ?? 0) + Number(r.n);
    if (isUsable(r.status)) licensed.set(r.product_id, (licensed.get(r.product_id) ?? 0) + Number(r.seats ?? 0));
  }
  return {
    codesByStatus,
    seats: products.map((p) => ({ product: p.product, used: Number(p.used), licensed: licensed.get(p.id) ?? 0 })),
    outbox: await new KnexOutboxStore(db).summary(),
    webhookEndpoints: await countWebhookEndpoints(db),
  };
}
