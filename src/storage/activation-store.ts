import type { Knex } from 'knex';
import { anchorEntries, INSTANCE_COMPONENT } from '@licensor/client/contract';
import type { ActivationStore, AnchorEntry } from '../domain/ports';
import type { Activation, ActivationStatus, FingerprintHashes } from '../domain/types';
import { fromJson, numberOrNull, toBool, toJson } from './rows';
import { engineOf } from './database';
import { placeholders, sqlRows, sqlWrite } from './direct-sql';

export interface ActivationRow {
  id: string;
  code_id: string;
  product_id: string;
  fingerprint: string;
  environment: string;
  status: string;
  clone_suspect: boolean | number;
  created_at: number;
  last_heartbeat_at: number;
  ended_at: number | null;
  in_use_until: number | null;
  secret_hash: string | null;
  fingerprint_changed_at: number | null;
  replaced_components: string | null;
  foreign_beat_at: number | null;
  cloned_at: number | null;
}

export const ACTIVATION_COLUMNS: string[] = [
  'id',
  'code_id',
  'product_id',
  'fingerprint',
  'environment',
  'status',
  'clone_suspect',
  'created_at',
  'last_heartbeat_at',
  'ended_at',
  'in_use_until',
  'secret_hash',
  'fingerprint_changed_at',
  'replaced_components',
  'foreign_beat_at',
  'cloned_at',
];

export function activationFromRow(row: ActivationRow): Activation {
  return {
    id: row.id,
    codeId: row.code_id,
    productId: row.product_id,
    fingerprint: fromJson<FingerprintHashes>(row.fingerprint, {}),
    environment: fromJson<Record<string, unknown>>(row.environment, {}),
    status: row.status as ActivationStatus,
    cloneSuspect: toBool(row.clone_suspect),
    createdAt: Number(row.created_at),
    lastHeartbeatAt: Number(row.last_heartbeat_at),
    endedAt: numberOrNull(row.ended_at),
    inUseUntil: numberOrNull(row.in_use_until),
    secretHash: row.secret_hash ?? null,
    fingerprintChangedAt: numberOrNull(row.fingerprint_changed_at),
    replacedComponents: fromJson<FingerprintHashes | null>(row.replaced_components, null),
    foreignBeatAt: numberOrNull(row.foreign_beat_at),
    clonedAt: numberOrNull(row.cloned_at),
  };
}

/** Beats per UPDATE: two bound values each, far under either engine's parameter limit. */
const TOUCH_CHUNK = 2000;

/** The activation path's statements, hand-written (direct-sql.ts). */
const SELECT_ACTIVATIONS = `SELECT ${ACTIVATION_COLUMNS.join(', ')} FROM activations`;
const FIND_BY_ID = `${SELECT_ACTIVATIONS} WHERE id = ?`;
const INSERT_ACTIVATION = `INSERT INTO activations (${ACTIVATION_COLUMNS.join(', ')}) VALUES (${placeholders(ACTIVATION_COLUMNS.length)})`;
/** The ids of the activations holding any of `count` anchors (component and hash bound, in order) in the product `product` (SQL: a `?` or a qualified column). */
const holdersOfAnchors = (product: string, count: number) =>
  Array.from({ length: count }, () => `SELECT activation_id FROM activation_anchors WHERE product_id = ${product} AND component = ? AND hash = ?`).join(
    ' UNION ALL ',
  );
const END_IF_ACTIVE = "UPDATE activations SET status = ?, ended_at = ? WHERE id = ? AND status = 'active' RETURNING id";

/**
 * SQLite: the holders of `count` anchors in the product `product` (a qualified column of the
 * row the statement reads), as one JSON array of rows, for a statement that reads them with that
 * row in one trip (CodeStore.lockForSeat). Bindings: each anchor's component and hash, in order.
 */
export const holdersAsJson = (count: number, product: string) =>
  `(SELECT json_group_array(json_object(${ACTIVATION_COLUMNS.map((c) => `'${c}', ${c}`).join(', ')})) FROM activations
     WHERE id IN (${holdersOfAnchors(product, count)}))`;

/** The live ones of holdersAsJson's rows. */
export function liveHoldersFromJson(json: string): Activation[] {
  return (JSON.parse(json) as ActivationRow[]).map(activationFromRow).filter((a) => a.status === 'active');
}

/** A product by its id, or as the product of a code (its normalised text), for a statement that need not wait for the code's row. */
export type ProductOf = { id: string } | { code: string };

/**
 * The live activations of a product holding any of the anchor hashes, in one statement whose
 * plan does not depend on statistics: one exact lookup in the (product, component, hash) index
 * per anchor, then the holders by primary key; status is checked here. As a join with the
 * status in it, SQLite always searched every live activation (any product) by the status index,
 * and PostgreSQL, before autovacuum had analysed a growing table, read every anchor of the
 * product for OR-ed anchors: an activation's cost grew with the product's machines
 * (docs/performance.md#an-activation-asks-the-database-few-questions).
 */
export async function liveHolders(db: Knex | Knex.Transaction, product: ProductOf, anchors: readonly AnchorEntry[]): Promise<Activation[]> {
  if (anchors.length === 0) return [];
  const [sql, value] = 'id' in product ? ['?', product.id] : ['(SELECT product_id FROM codes WHERE code = ?)', product.code];
  const rows = await sqlRows<ActivationRow>(
    db,
    `${SELECT_ACTIVATIONS} WHERE id IN (${holdersOfAnchors(sql, anchors.length)})`,
    anchors.flatMap((a) => [value, a.component, a.hash]),
  );
  return rows.map(activationFromRow).filter((a) => a.status === 'active');
}

/** A floating activation lapses when its last beat is older than its product's lease. */
const LAPSED = `last_heartbeat_at < CAST(? AS BIGINT) - (SELECT lease_seconds FROM products WHERE products.id = activations.product_id) * 1000`;

export class KnexActivationStore implements ActivationStore {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async insert(a: Activation): Promise<void> {
    await sqlWrite(this.db, INSERT_ACTIVATION, [
      a.id,
      a.codeId,
      a.productId,
      toJson(a.fingerprint),
      toJson(a.environment),
      a.status,
      a.cloneSuspect,
      a.createdAt,
      a.lastHeartbeatAt,
      a.endedAt,
      a.inUseUntil,
      a.secretHash,
      a.fingerprintChangedAt,
      a.replacedComponents === null ? null : toJson(a.replacedComponents),
      a.foreignBeatAt,
      a.clonedAt,
    ]);
    await this.insertAnchors(a.id, a.productId, a.fingerprint);
  }

  async findById(id: string): Promise<Activation | undefined> {
    const rows = await sqlRows<ActivationRow>(this.db, FIND_BY_ID, [id]);
    return rows[0] && activationFromRow(rows[0]);
  }

  async listByCode(codeId: string, status?: ActivationStatus): Promise<Activation[]> {
    const q = this.db('activations').select(ACTIVATION_COLUMNS).where({ code_id: codeId });
    if (status) q.andWhere({ status });
    return (await q.orderBy([{ column: 'created_at' }, { column: 'id' }])).map(activationFromRow);
  }

  async countActive(codeId: string): Promise<number> {
    // Kept on the code's row by triggers (migration 018), the same count lockForSeat reads.
    const row = (await this.db('codes').where({ id: codeId }).first('live_seats')) as { live_seats: number | string } | undefined;
    return Number(row?.live_seats ?? 0);
  }

  async cullLapsedOnCode(codeId: string, now: number, limit?: number): Promise<string[]> {
    const lapsed = () =>
      this.db('activations')
        .where({ code_id: codeId, status: 'active' })
        .whereIn('product_id', this.db('products').select('id').where('seat_mode', 'floating'))
        .whereRaw(LAPSED, [now]);
    let q = lapsed();
    if (limit !== undefined) {
      // Soft reclaim takes only what it needs, the longest-silent first.
      const ids = (
        await lapsed()
          .select('id')
          .orderBy([{ column: 'last_heartbeat_at' }, { column: 'id' }])
          .limit(limit)
      ).map((r: { id: string }) => r.id);
      if (ids.length === 0) return [];
      q = lapsed().whereIn('id', ids);
    }
    const rows = await q.update({ status: 'culled', ended_at: now }, ['id']);
    return (rows as Array<{ id: string }>).map((r) => r.id);
  }

  async inUseSlots(codeId: string, now: number, exceptId: string | null): Promise<{ count: number; earliestEnd: number | null }> {
    const q = this.db('activations').where({ code_id: codeId, status: 'active' }).andWhere('in_use_until', '>', now);
    if (exceptId !== null) q.andWhereNot('id', exceptId);
    const row = (await q.count({ n: '*' }).min({ e: 'in_use_until' }).first()) as { n: number | string; e: number | string | null } | undefined;
    return { count: Number(row?.n ?? 0), earliestEnd: numberOrNull(row?.e) };
  }

  async holdSlot(id: string, now: number, until: number): Promise<boolean> {
    const n = await this.db('activations')
      .where({ id, status: 'active' })
      .update({
        in_use_until: until,
        last_heartbeat_at: this.db.raw('CASE WHEN last_heartbeat_at < CAST(? AS BIGINT) THEN CAST(? AS BIGINT) ELSE last_heartbeat_at END', [now, now]),
      });
    return n > 0;
  }

  async end(id: string, status: Exclude<ActivationStatus, 'active'>, now: number): Promise<boolean> {
    return (await sqlRows(this.db, END_IF_ACTIVE, [status, now, id])).length > 0;
  }

  async endAllForCode(codeId: string, status: Exclude<ActivationStatus, 'active'>, now: number): Promise<string[]> {
    const rows = await this.db('activations').where({ code_id: codeId, status: 'active' }).update({ status, ended_at: now }, ['id']);
    return (rows as Array<{ id: string }>).map((r) => r.id);
  }

  async reEnrol(id: string, fingerprint: FingerprintHashes, replaced: FingerprintHashes, at: number): Promise<void> {
    const row = await this.db('activations')
      .where({ id })
      .update({ fingerprint: toJson(fingerprint), replaced_components: toJson(replaced), fingerprint_changed_at: at }, ['product_id']);
    const productId = (row as Array<{ product_id: string }>)[0]?.product_id;
    if (!productId) return;
    await this.db('activation_anchors').where({ activation_id: id }).delete();
    await this.insertAnchors(id, productId, fingerprint);
  }

  async setSecret(id: string, secretHash: string): Promise<void> {
    await this.db('activations').where({ id }).update({ secret_hash: secretHash });
  }

  async noteForeignBeat(id: string, at: number): Promise<void> {
    await this.db('activations').where({ id }).update({ foreign_beat_at: at });
  }

  async markCloned(id: string, at: number): Promise<boolean> {
    const n = await this.db('activations').where({ id }).whereNull('cloned_at').update({ cloned_at: at, clone_suspect: true });
    return n > 0;
  }

  async markCloneSuspect(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.db('activations').whereIn('id', ids).update({ clone_suspect: true });
  }

  findActiveByAnchors(productId: string, anchors: readonly AnchorEntry[]): Promise<Activation[]> {
    return liveHolders(this.db, { id: productId }, anchors);
  }

  async touch(id: string, at: number): Promise<boolean> {
    const n = await this.db('activations')
      .where({ id, status: 'active' })
      .update({
        last_heartbeat_at: this.db.raw('CASE WHEN last_heartbeat_at < CAST(? AS BIGINT) THEN CAST(? AS BIGINT) ELSE last_heartbeat_at END', [at, at]),
      });
    return n > 0;
  }

  async touchMany(beats: ReadonlyMap<string, number>): Promise<void> {
    // One statement per chunk: UPDATE … FROM (VALUES …) works on PostgreSQL and SQLite ≥ 3.33.
    const entries = [...beats];
    for (let i = 0; i < entries.length; i += TOUCH_CHUNK) await this.touchChunk(entries.slice(i, i + TOUCH_CHUNK));
  }

  private async touchChunk(entries: Array<[string, number]>): Promise<void> {
    // PostgreSQL needs the VALUES typed to compare them. SQLite must not have them typed: with the
    // casts it materialises the list and updates in a second pass, several times slower while
    // holding its one writer (docs/performance.md#bulk-changes-are-one-statement-a-batch).
    const tuple = engineOf(this.db) === 'postgres' ? '(CAST(? AS VARCHAR(36)), CAST(? AS BIGINT))' : '(?, ?)';
    const values: Array<string | number> = [];
    const tuples: string[] = [];
    for (const [id, at] of entries) {
      tuples.push(tuple);
      values.push(id, at);
    }
    await this.db.raw(
      `UPDATE activations SET last_heartbeat_at = v.at
         FROM (SELECT column1 AS id, column2 AS at FROM (VALUES ${tuples.join(', ')}) AS t) AS v
        WHERE activations.id = v.id AND activations.status = 'active' AND activations.last_heartbeat_at < v.at`,
      values,
    );
  }

  /**
   * One floating product at a time, each an exact range of the (product, status, last beat) index:
   * with none (node-locked products only) nothing is read. One query over every product read every
   * live activation at each sweep to find the few that lapsed (docs/performance.md#sweeper).
   */
  async findLapsedFloating(now: number, limit: number): Promise<Activation[]> {
    // Soft-reclaim products keep lapsed seats until an activation needs one (docs/policies.md).
    const products = (await this.db('products').select('id', 'lease_seconds').where('seat_mode', 'floating').andWhereNot('reclaim', 'soft')) as Array<{
      id: string;
      lease_seconds: number;
    }>;
    const found: Activation[] = [];
    for (const product of products) {
      if (found.length >= limit) break;
      const rows = await this.db('activations')
        .select(ACTIVATION_COLUMNS)
        .where({ product_id: product.id, status: 'active' })
        .andWhere('last_heartbeat_at', '<', now - product.lease_seconds * 1000)
        .orderBy('last_heartbeat_at')
        .limit(limit - found.length);
      found.push(...rows.map(activationFromRow));
    }
    return found;
  }

  async cullIfLapsed(ids: string[], now: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const lapsed = () => this.db('activations').whereIn('id', ids).andWhere('status', 'active').whereRaw(LAPSED, [now]);
    await this.lockCodesOf(lapsed().select('code_id'));
    const rows = await lapsed().update({ status: 'culled', ended_at: now }, ['id']);
    return (rows as Array<{ id: string }>).map((r) => r.id);
  }

  async cullLapsedOfProduct(productId: string, now: number): Promise<Array<{ id: string; codeId: string }>> {
    const lapsed = () => this.db('activations').where({ product_id: productId, status: 'active' }).whereRaw(LAPSED, [now]);
    await this.lockCodesOf(lapsed().select('code_id'));
    const rows = await lapsed().update({ status: 'culled', ended_at: now }, ['id', 'code_id']);
    return (rows as Array<{ id: string; code_id: string }>).map((r) => ({ id: r.id, codeId: r.code_id }));
  }

  /**
   * Locks, in id order, the codes of the activations a bulk statement is about to end. Ending a
   * live activation moves its code's live seats (migration 018), which on PostgreSQL takes the
   * code's row lock; an activation takes the code's lock before its seats' (lockForSeat), so a
   * statement that took the seats' first could deadlock with it. SQLite has one writer: nothing
   * to order.
   */
  private async lockCodesOf(codeIds: Knex.QueryBuilder): Promise<void> {
    if (engineOf(this.db) !== 'postgres') return;
    await this.db('codes').select('id').whereIn('id', codeIds).orderBy('id').forUpdate();
  }

  async countActiveContainers(productId: string): Promise<number> {
    // The fingerprint is stored as JSON text on both engines: its keys are quoted.
    const row = await this.db('activations')
      .where({ product_id: productId, status: 'active' })
      .andWhere('fingerprint', 'like', `%"${INSTANCE_COMPONENT}"%`)
      .count({ n: '*' })
      .first();
    return Number((row as { n: number | string } | undefined)?.n ?? 0);
  }

  private async insertAnchors(activationId: string, productId: string, fingerprint: FingerprintHashes): Promise<void> {
    const anchors = anchorEntries(fingerprint);
    if (anchors.length === 0) return;
    await sqlWrite(
      this.db,
      `INSERT INTO activation_anchors (activation_id, product_id, component, hash) VALUES ${anchors.map(() => '(?, ?, ?, ?)').join(', ')}
       ON CONFLICT (activation_id, component, hash) DO NOTHING`,
      anchors.flatMap((a) => [activationId, productId, a.component, a.hash]),
    );
  }
}
