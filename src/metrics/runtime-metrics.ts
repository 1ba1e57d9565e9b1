import type { Runtime } from '../runtime';
import { readScrapeFigures } from '../storage/scrape-figures';
import { LicensorMetrics } from './licensor-metrics';

/** The metrics of a running server, reading its database, clock and key ring. */
export function metricsFor(runtime: Runtime): LicensorMetrics {
  return new LicensorMetrics({
    clock: runtime.ctx.clock,
    readFigures: () => readScrapeFigures(runtime.database),
    signatures: () => runtime.keyRing.signatureCount,
    wal: runtime.database.checkpointer && (() => runtime.database.checkpointer!.lastResult),
  });
}
