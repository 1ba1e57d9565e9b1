import type { Knex } from 'knex';
import type { AdminScope, AdminToken } from '../domain/types';
import type { AdminTokenStore } from '../domain/ports';
import { fromJson, numberOrNull, toJson } from './rows';

interface AdminTokenRow {
  id: string;
  name: string;
  scope: string;
  products: string | null;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

// Never the digest: nothing outside this store needs it.
const COLUMNS = ['id', 'name', 'scope', 'products', 'created_at', 'revoked_at', 'last_used_at'];

function tokenFromRow(row: AdminTokenRow): AdminToken {
  return {
    id: row.id,
    name: row.name,
    scope: row.scope as AdminScope,
    products: row.products === null ? null : fromJson<string[]>(row.products, []),
    createdAt: Number(row.created_at),
    revokedAt: numberOrNull(row.revoked_at),
    lastUsedAt: numberOrNull(row.last_used_at),
  };
}

export class KnexAdminTokenStore implements AdminTokenStore {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async insert(t: AdminToken, tokenHash: string): Promise<void> {
    await this.db('admin_tokens').insert({
      id: t.id,
      name: t.name,
      token_hash: tokenHash,
      scope: t.scope,
      products: t.products === null ? null : toJson(t.products),
      created_at: t.createdAt,
      revoked_at: t.revokedAt,
      last_used_at: t.lastUsedAt,
    });
  }

  findByName(name: string): Promise<AdminToken | undefined> {
    return this.findOne({ name });
  }

  findByHash(tokenHash: string): Promise<AdminToken | undefined> {
    return this.findOne({ token_hash: tokenHash });
  }

  async list(): Promise<AdminToken[]> {
    return ((await this.db('admin_tokens').select(COLUMNS).orderBy('name')) as AdminTokenRow[]).map(tokenFromRow);
  }

  async revoke(id: string, at: number): Promise<void> {
    await this.db('admin_tokens').where({ id }).whereNull('revoked_at').update({ revoked_at: at });
  }

  async noteUse(id: string, at: number): Promise<void> {
    await this.db('admin_tokens').where({ id }).update({ last_used_at: at });
  }

  private async findOne(where: Record<string, string>): Promise<AdminToken | undefined> {
    const row = (await this.db('admin_tokens').select(COLUMNS).where(where).first()) as AdminTokenRow | undefined;
    return row && tokenFromRow(row);
  }
}
