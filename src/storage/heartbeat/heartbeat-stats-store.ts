import type { Knex } from 'knex';
import type { BeatCount, HeartbeatStatsBucket, HeartbeatStatsStore } from '../../domain/ports';
import { numberOrNull } from '../rows';

/** Rows per upsert: three bound values each, far under either engine's parameter limit. */
const CHUNK = 500;

export class KnexHeartbeatStatsStore implements HeartbeatStatsStore {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async addBeats(counts: BeatCount[]): Promise<void> {
    for (let i = 0; i < counts.length; i += CHUNK) {
      // Upsert-add (both engines): processes flushing the same minute add up instead of overwriting.
      await this.db('heartbeat_stats')
        .insert(counts.slice(i, i + CHUNK).map((c) => ({ minute: c.minute, product_id: c.productId, beats: c.beats })))
        .onConflict(['minute', 'product_id'])
        .merge({ beats: this.db.raw('heartbeat_stats.beats + excluded.beats') });
    }
  }

  async sampleActiveSeats(minute: number): Promise<void> {
    // One statement: every product, with 0 when none of its seats is taken. `WHERE true` keeps
    // SQLite from reading ON CONFLICT as a join constraint.
    await this.db.raw(
      `INSERT INTO heartbeat_stats (minute, product_id, beats, active_seats)
       SELECT CAST(? AS BIGINT), p.id, 0,
              (SELECT COUNT(*) FROM activations a WHERE a.product_id = p.id AND a.status = 'active')
         FROM products p WHERE true
       ON CONFLICT (minute, product_id) DO UPDATE SET active_seats = excluded.active_seats`,
      [minute],
    );
  }

  async series(query: { productId?: string; from: number; to: number; stepMs: number }): Promise<HeartbeatStatsBucket[]> {
    // Minutes first (summed over products), then buckets: seats are the highest per-minute total.
    const inner = this.db('heartbeat_stats')
      .select(
        this.db.raw('minute / CAST(? AS BIGINT) AS bucket', [query.stepMs]),
        this.db.raw('SUM(beats) AS beats'),
        this.db.raw('SUM(active_seats) AS seats'),
      )
      .where('minute', '>=', query.from)
      .andWhere('minute', '<', query.to)
      .groupBy('minute');
    if (query.productId) inner.andWhere('product_id', query.productId);
    const rows: Array<{ bucket: number | string; beats: number | string; seats: number | string | null }> = await this.db
      .from(inner.as('m'))
      .select('bucket', this.db.raw('SUM(beats) AS beats'), this.db.raw('MAX(seats) AS seats'))
      .groupBy('bucket')
      .orderBy('bucket');
    return rows.map((r) => ({
      start: Number(r.bucket) * query.stepMs,
      beats: Number(r.beats),
      activeSeats: numberOrNull(r.seats),
    }));
  }

  async pruneBefore(minute: number): Promise<number> {
    return this.db('heartbeat_stats').where('minute', '<', minute).delete();
  }
}
