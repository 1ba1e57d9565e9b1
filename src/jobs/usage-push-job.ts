import type { DomainContext } from '../domain/context';
import type { MarketplaceSettings } from '../domain/marketplace/settings';
import { oweUsagePushes } from '../domain/marketplace/usage-push';
import type { Logger } from '../logger';

/** How often closed days of on-demand usage are looked for; the outbox delivers what is owed. */
const USAGE_PUSH_INTERVAL_MS = 15 * 60_000;

export interface UsagePushJob {
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Owes the marketplace each closed day of on-demand usage (src/domain/marketplace/usage-push.ts)
 * on an interval: one process at a time (several would only find the days owed already), never
 * overlapping itself, never keeping the process alive.
 */
export function startUsagePushJob(ctx: DomainContext, settings: MarketplaceSettings, logger: Logger, intervalMs = USAGE_PUSH_INTERVAL_MS): UsagePushJob {
  let running: Promise<number> | null = null;
  const runOnce = (): Promise<number> => {
    running ??= ctx.repo
      .exclusively('marketplace-usage-push', () => oweUsagePushes(ctx, settings))
      .then((owed) => owed ?? 0)
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => {
    runOnce().catch((err: unknown) => logger.warn({ err }, 'finding usage to push failed; will retry'));
  }, intervalMs);
  timer.unref();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
