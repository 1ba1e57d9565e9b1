import type { DomainContext } from './context';
import { ChurnLimitReached } from './errors';
import type { ChurnEvent, Stores } from './ports';
import type { Product } from './types';

/** The longest churn period a product may set; events older than this are pruned by the sweeper. */
export const MAX_CHURN_PERIOD_SECONDS = 366 * 86_400;

/**
 * Spends one unit of the code's churn budget (docs/policies.md#churn-limits: seat hopping must
 * not mint unlimited offline tokens), or refuses with the time the next unit frees up.
 *
 * Must run inside the transaction that holds the code's lock (CodeStore.lockForUpdate) and that
 * makes the change: every racing activation or deactivation of the code counts the events the
 * previous holders committed, and a refusal rolls the change back. Nothing is written for
 * products without a limit.
 */
export async function spendChurn(ctx: Pick<DomainContext, 'ids'>, tx: Stores, product: Product, event: Omit<ChurnEvent, 'id'>): Promise<void> {
  if (product.churnLimit === null) return;
  const periodMs = product.churnPeriodSeconds * 1000;
  const times = await tx.churn.timesSince(event.codeId, event.at - periodMs);
  if (times.length >= product.churnLimit) {
    // The budget frees one unit when enough of the oldest events have left the window.
    const resetsAt = times[times.length - product.churnLimit]! + periodMs;
    throw new ChurnLimitReached(product.churnLimit, product.churnPeriodSeconds, resetsAt, event.at);
  }
  await tx.churn.record({ id: ctx.ids.id(), ...event });
}
