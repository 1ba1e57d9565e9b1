import type { Knex } from 'knex';
import type { AnchorEntry, CodeFilter, CodeStore, ExpiryPlace, SeatLock, SweepBatch } from '../domain/ports';
import type { CodeStatus, LicenseCode, Page } from '../domain/types';
import { holdersAsJson, liveHolders, liveHoldersFromJson } from './activation-store';
import { fromJson, keysetPage, numberOrNull, toBool, toJson } from './rows';
import { CodeSweep } from './code-sweep';
import { engineOf } from './database';
import { sqlRows } from './direct-sql';

export interface CodeRow {
  id: string;
  product_id: string;
  code: string;
  status: string;
  seats: number;
  max_concurrent: number | null;
  features: string;
  expires_at: number;
  first_activated_at: number | null;
  metadata: string;
  test: boolean | number;
  created_at: number;
  updated_at: number;
}

export const CODE_COLUMNS: string[] = [
  'id',
  'product_id',
  'code',
  'status',
  'seats',
  'max_concurrent',
  'features',
  'expires_at',
  'first_activated_at',
  'metadata',
  'test',
  'created_at',
  'updated_at',
];

/**
 * The statements that lock a code and return it as its last holder committed it, on the
 * activation and deactivation paths (direct-sql.ts). PostgreSQL: a row lock that writes nothing,
 * so no new row version, WAL record or codes trigger per activation; read committed, it waits for
 * the holder and reads its commit. SQLite: a plain read, since every transaction there holds the
 * database's one write lock from its BEGIN, before it reads anything (direct-sql.ts, `begin`).
 */
function lockStatement(db: Knex, where: string, columns: string[]): string {
  return `SELECT ${columns.join(', ')} FROM codes WHERE ${where}${engineOf(db) === 'postgres' ? ' FOR UPDATE' : ''}`;
}

export function codeFromRow(row: CodeRow): LicenseCode {
  return {
    id: row.id,
    productId: row.product_id,
    code: row.code,
    status: row.status as CodeStatus,
    seats: Number(row.seats),
    maxConcurrent: numberOrNull(row.max_concurrent),
    features: fromJson<string[]>(row.features, []),
    expiresAt: Number(row.expires_at),
    firstActivatedAt: numberOrNull(row.first_activated_at),
    metadata: fromJson<Record<string, unknown>>(row.metadata, {}),
    test: toBool(row.test),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export class KnexCodeStore implements CodeStore {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async insert(c: LicenseCode): Promise<void> {
    await this.db('codes').insert({
      id: c.id,
      product_id: c.productId,
      code: c.code,
      status: c.status,
      seats: c.seats,
      max_concurrent: c.maxConcurrent,
      features: toJson(c.features),
      expires_at: c.expiresAt,
      first_activated_at: c.firstActivatedAt,
      metadata: toJson(c.metadata),
      test: c.test,
      created_at: c.createdAt,
      updated_at: c.updatedAt,
    });
  }

  async findById(id: string): Promise<LicenseCode | undefined> {
    const row = await this.db('codes').select(CODE_COLUMNS).where({ id }).first();
    return row && codeFromRow(row);
  }

  async findByIds(ids: readonly string[]): Promise<LicenseCode[]> {
    if (ids.length === 0) return [];
    const rows = await this.db('codes')
      .select(CODE_COLUMNS)
      .whereIn('id', [...new Set(ids)]);
    return rows.map(codeFromRow);
  }

  async findByCode(normalized: string): Promise<LicenseCode | undefined> {
    const row = await this.db('codes').select(CODE_COLUMNS).where({ code: normalized }).first();
    return row && codeFromRow(row);
  }

  async lockForUpdate(id: string): Promise<LicenseCode | undefined> {
    // The lock first (lockStatement), before anything is read, so every read after it sees every
    // earlier holder's commit (no stale snapshot); the row comes back from the same statement.
    const rows = await sqlRows<CodeRow>(this.db, lockStatement(this.db, 'id = ?', CODE_COLUMNS), [id]);
    return rows[0] && codeFromRow(rows[0]);
  }

  async lock(id: string): Promise<void> {
    // SQLite's transaction holds the database's write lock from its BEGIN: nothing to send.
    if (engineOf(this.db) === 'postgres') await sqlRows(this.db, lockStatement(this.db, 'id = ?', ['id']), [id]);
  }

  async lockForSeat(normalized: string, anchors: readonly AnchorEntry[]): Promise<SeatLock | undefined> {
    // The code's lock first (lockStatement), and the row as the last holder committed it, with the
    // live seats its triggers kept (migration 018), whatever the code's size. On SQLite, whose
    // transaction holds the write lock from its BEGIN, the same statement reads the anchors'
    // holders: one trip through the writer fewer. PostgreSQL reads them in a statement of its own:
    // a statement's snapshot is taken before it waits for the lock, and would miss what the holder
    // it waited for committed. That statement goes out right behind the lock's, in the same round
    // trip (the connection pipelines, direct-sql.ts), and names the product through the code, so
    // it needs nothing the lock answers; PostgreSQL starts it, and takes its snapshot, only once
    // the lock is held.
    const together = engineOf(this.db) === 'sqlite' && anchors.length > 0;
    const columns = [...CODE_COLUMNS, 'live_seats', ...(together ? [`${holdersAsJson(anchors.length, 'codes.product_id')} AS holders`] : [])];
    const locking = sqlRows<CodeRow & { live_seats: number; holders?: string }>(this.db, lockStatement(this.db, 'code = ?', columns), [
      ...(together ? anchors.flatMap((a) => [a.component, a.hash]) : []),
      normalized,
    ]);
    const holding = together ? null : liveHolders(this.db, { code: normalized }, anchors);
    // Waited for after the lock, whose failure is the one to report.
    holding?.catch(() => undefined);
    const row = (await locking)[0];
    if (!row) return undefined;
    const holders = row.holders !== undefined ? liveHoldersFromJson(row.holders) : await holding!;
    return { code: codeFromRow(row), activeSeats: Number(row.live_seats), holders };
  }

  async update(
    id: string,
    patch: Partial<Pick<LicenseCode, 'status' | 'expiresAt' | 'seats' | 'features' | 'firstActivatedAt' | 'metadata'>>,
    now: number,
  ): Promise<void> {
    const row: Record<string, unknown> = { updated_at: now };
    if (patch.status !== undefined) row.status = patch.status;
    if (patch.expiresAt !== undefined) row.expires_at = patch.expiresAt;
    if (patch.seats !== undefined) row.seats = patch.seats;
    if (patch.features !== undefined) row.features = toJson(patch.features);
    if (patch.firstActivatedAt !== undefined) row.first_activated_at = patch.firstActivatedAt;
    if (patch.metadata !== undefined) row.metadata = toJson(patch.metadata);
    await this.db('codes').where({ id }).update(row);
  }

  async list(filter: CodeFilter, limit: number, cursor: string | null): Promise<Page<LicenseCode>> {
    const q = this.db('codes').select(CODE_COLUMNS);
    if (filter.productId) q.where('product_id', filter.productId);
    if (filter.status) q.where('status', filter.status);
    if (filter.test !== undefined) q.where('test', filter.test);
    if (filter.id) q.where('id', filter.id);
    const folded = filter.codePrefix === undefined ? undefined : `${filter.codePrefix.replace(/[^0-9A-Z]/g, '')}%`;
    // A code the marketplace made matches as written: its own prefix, LIKE's wildcards escaped.
    const exact = filter.exactPrefix === undefined ? undefined : `${filter.exactPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    if (folded !== undefined && exact !== undefined) q.where((w) => w.where('code', 'like', folded).orWhereRaw("code LIKE ? ESCAPE '\\'", [exact]));
    else if (folded !== undefined) q.where('code', 'like', folded);
    return keysetPage(q, { at: 'created_at', id: 'id' }, cursor, limit, codeFromRow, (c) => ({ at: c.createdAt, id: c.id }));
  }

  // The sweeper's bulk statements, in two dialects: storage/code-sweep.ts.
  expireDue(after: ExpiryPlace, now: number, limit: number, actor: string): Promise<SweepBatch> {
    return new CodeSweep(this.db).expireDue(after, now, limit, actor);
  }

  releaseExpired(after: ExpiryPlace, cutoff: number, now: number, limit: number, actor: string): Promise<SweepBatch> {
    return new CodeSweep(this.db).releaseExpired(after, cutoff, now, limit, actor);
  }
}
