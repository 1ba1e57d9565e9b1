import type { Knex } from 'knex';
import type { ChurnEvent, ChurnStore } from '../domain/ports';

/** Seat changes counted by churn limits; read and written under the code's lock (docs/policies.md). */
export class KnexChurnStore implements ChurnStore {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async record(e: ChurnEvent): Promise<void> {
    await this.db('activation_churn').insert({ id: e.id, code_id: e.codeId, activation_id: e.activationId, kind: e.kind, at: e.at });
  }

  async timesSince(codeId: string, since: number): Promise<number[]> {
    const rows = await this.db('activation_churn')
      .select('at')
      .where('code_id', codeId)
      .andWhere('at', '>', since)
      .orderBy([{ column: 'at' }, { column: 'id' }]);
    return rows.map((r: { at: number | string }) => Number(r.at));
  }

  async pruneBefore(cutoff: number): Promise<number> {
    return this.db('activation_churn').where('at', '<', cutoff).delete();
  }
}
