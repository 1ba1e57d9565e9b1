import type { Knex } from 'knex';
import type { IdempotencyStore } from '../domain/ports';

export class KnexIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async claim(scope: string, key: string, requestHash: string, now: number): Promise<boolean> {
    // Insert-if-absent on the (scope, key) primary key: racing retries cannot both claim.
    const inserted = await this.db('idempotency_records')
      .insert({ scope, key, request_hash: requestHash, status_code: 200, response: '', created_at: now })
      .onConflict(['scope', 'key'])
      .ignore()
      .returning('key');
    return (inserted as unknown[]).length > 0;
  }
}
