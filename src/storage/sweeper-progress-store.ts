import type { Knex } from 'knex';
import type { SweepProgress, SweeperProgressStore } from '../domain/ports';
import { numberOrNull } from './rows';

const ROW = 'sweeper';

/** One row: where the sweeper got to, shared by every process (only one sweeps at a time). */
export class KnexSweeperProgressStore implements SweeperProgressStore {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async read(): Promise<SweepProgress> {
    const row = (await this.db('sweeper_progress').where({ name: ROW }).first()) as
      { expired_through: number | string | null; released_through: number | string | null; full_pass_at: number | string | null } | undefined;
    return {
      expiredThrough: numberOrNull(row?.expired_through),
      releasedThrough: numberOrNull(row?.released_through),
      fullPassAt: numberOrNull(row?.full_pass_at),
    };
  }

  async write(p: SweepProgress): Promise<void> {
    await this.db('sweeper_progress')
      .insert({ name: ROW, expired_through: p.expiredThrough, released_through: p.releasedThrough, full_pass_at: p.fullPassAt })
      .onConflict('name')
      .merge();
  }
}
