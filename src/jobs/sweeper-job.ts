import type { DomainContext } from '../domain/context';
import { sweep, type SweepOptions, type SweepReport } from '../domain/sweeper';
import type { Logger } from '../logger';

export interface SweeperJob {
  /** Runs one sweep now (also what the timer calls). */
  runOnce(): Promise<SweepReport>;
  stop(): Promise<void>;
}

/** Runs the sweeper on an interval; a run never overlaps the previous one and never keeps the process alive. */
export function startSweeper(
  ctx: DomainContext,
  options: SweepOptions,
  intervalMs: number,
  logger: Logger,
  /** Told about every run (for /metrics): its report, or that it failed. */
  onRun: (report: SweepReport | undefined, failed: boolean) => void = () => {},
): SweeperJob {
  let running: Promise<SweepReport> | null = null;
  let stopped = false;
  const runOnce = (): Promise<SweepReport> => {
    if (running) return running;
    const started = performance.now();
    running = sweep(ctx, options)
      .then((report) => {
        onRun(report, false);
        const ms = Math.round(performance.now() - started);
        if (report.expired || report.culled || report.released) logger.info({ sweep: report, ms }, 'sweeper changed codes or seats');
        return report;
      })
      .catch((err: unknown) => {
        onRun(undefined, true);
        // The error itself, not String(err): its fields go through the log's scrubbing (src/logger.ts).
        logger.warn({ err }, 'sweep failed; will retry');
        throw err;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => {
    // runOnce logged the failure.
    if (!stopped) runOnce().catch(() => undefined);
  }, intervalMs);
  timer.unref();
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
