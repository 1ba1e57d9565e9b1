import type { Runtime } from '../runtime';
import { readScrapeFigures } from '../storage/scrape-figures';
import { LicensorMetrics } from './licensor-metrics';

/** The metrics of a running server, reading its database, clock and key ring. */
export function metricsFor(runtime: Runtime): LicensorMetrics {
  const checkpointer = runtime.database.checkpointer;
  return new LicensorMetrics({
    clock: runtime.ctx.clock,
    readFigures: () => readScrapeFigures(runtime.database),
    signatures: () => runtime.keyRing.signatureCount,
    wal: checkpointer && (() => checkpointer.lastResult),
    checkpoints: checkpointer && (() => checkpointer.tally),
  });
}
