import { auditEvent } from './audit';
import type { DomainContext } from './context';
import { ChurnLimitReached, ConcurrencyLimitReached, SeatLimitReached } from './errors';
import type { Actor } from './types';

/**
 * A code's limits being reached (all seats taken, the churn limit spent, every in-use slot held) is
 * a refusal: its transaction rolls back and writes nothing. An operator still wants to hear of it
 * (docs/webhooks.md), so the refusal is audited afterwards in a transaction of its own, as
 * `code.seat_limit_reached`, `code.churn_limit_reached` or `code.concurrency_limit_reached`, which
 * webhooks announce like every audited event. A client retrying in a loop must not write an event
 * per try: each process notes a code's limit at most once per NOTE_EVERY_MS.
 */

const NOTE_EVERY_MS = 3_600_000;

const ACTIONS: Array<[new (...args: never[]) => Error, string]> = [
  [SeatLimitReached, 'code.seat_limit_reached'],
  [ChurnLimitReached, 'code.churn_limit_reached'],
  [ConcurrencyLimitReached, 'code.concurrency_limit_reached'],
];

/** When each code's limit was last noted, per runtime (a context is one runtime's). */
const noted = new WeakMap<DomainContext, Map<string, number>>();

/**
 * Runs `work`; when it refuses because a limit of the code was reached, audits that (throttled) and
 * refuses the same. `code`: the code's id, or where to find it once `work` has locked the code.
 */
export async function notingLimits<T>(ctx: DomainContext, code: string | (() => string | undefined), actor: Actor, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const action = ACTIONS.find(([kind]) => err instanceof kind)?.[1];
    const codeId = typeof code === 'string' ? code : code();
    if (action && codeId !== undefined) await noteLimit(ctx, codeId, actor, action, (err as SeatLimitReached).details ?? {}).catch(() => undefined);
    throw err;
  }
}

async function noteLimit(ctx: DomainContext, codeId: string, actor: Actor, action: string, details: Record<string, unknown>): Promise<void> {
  const now = ctx.clock.now();
  let times = noted.get(ctx);
  if (!times) noted.set(ctx, (times = new Map()));
  const key = `${action}:${codeId}`;
  const last = times.get(key);
  if (last !== undefined && now - last < NOTE_EVERY_MS) return;
  times.set(key, now);
  if (times.size > 10_000) times.delete(times.keys().next().value!);
  await ctx.repo.transaction((tx) => tx.audit.insert([auditEvent(ctx, now, actor, action, { type: 'code', id: codeId }, codeId, null, details)]));
}
