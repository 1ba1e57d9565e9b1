import { sweep } from '../../domain/sweeper';
import type { Runtime } from '../../runtime';
import { parseCommand } from '../args';
import { print, UsageError, type Io } from '../output';

const SWEEP_HELP = `licensor sweep — expire due codes and cull lapsed floating seats now (the server also does this on a timer)

  licensor sweep [--json]`;

export async function sweepCommand(argv: string[], open: () => Promise<Runtime>, io: Io): Promise<number> {
  const { values, positionals } = parseCommand(argv, {});
  if (values.help) {
    io.out(SWEEP_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`sweep takes no positional argument (got "${positionals[0]}")`);
  const runtime = await open();
  try {
    const started = performance.now();
    const report = await sweep(runtime.ctx, { releaseExpiredAfterMs: runtime.config.releaseExpiredAfterMs });
    const ms = Math.round(performance.now() - started);
    print(io, values.json ?? false, { ...report, ms }, () =>
      report.ran
        ? `expired ${report.expired} code(s), culled ${report.culled} seat(s), released ${report.released} code(s) in ${(ms / 1000).toFixed(2)} s`
        : 'another process is sweeping; nothing done',
    );
    return 0;
  } finally {
    await runtime.close();
  }
}
