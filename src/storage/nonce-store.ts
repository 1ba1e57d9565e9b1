import type { Knex } from 'knex';
import type { NonceStore } from '../domain/ports';

export class KnexNonceStore implements NonceStore {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async claim(nonce: string, seenAt: number, expiresAt: number): Promise<boolean> {
    // The primary key decides between racing processes: exactly one insert of a nonce succeeds.
    const inserted = await this.db('nonces').insert({ nonce, seen_at: seenAt, expires_at: expiresAt }).onConflict('nonce').ignore().returning('nonce');
    if ((inserted as unknown[]).length > 0) return true;
    // A record past its expiry protects nothing any more (its timestamp window has closed): reuse it.
    // Conditional, so of two racers only one sees the expired row.
    const renewed = await this.db('nonces').where({ nonce }).andWhere('expires_at', '<', seenAt).update({ seen_at: seenAt, expires_at: expiresAt });
    return renewed > 0;
  }

  async pruneExpired(now: number): Promise<number> {
    return this.db('nonces').where('expires_at', '<', now).delete();
  }
}
