import { listUsage } from '../../domain/marketplace/usage';
import { usageQuerySchema } from '../../application/schemas';
import { usageView } from '../../application/views';
import { parse } from '../../application/validate';
import type { Runtime } from '../../runtime';
import { parseCommand } from '../args';
import { print, table, UsageError, type Io } from '../output';

const USAGE_HELP = `licensor usage — software usage reported per code and day (marketplace open API)

  licensor usage [--code <code>] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--include-test]
                 [--limit <n>] [--json]

Newest day first. Test codes (testFlag=1 orders, codes issued with --test) are left out of the
figures unless --include-test is given or the code is named with --code.`;

export async function usageCommand(argv: string[], open: () => Promise<Runtime>, io: Io): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    code: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    'include-test': { type: 'boolean' },
    limit: { type: 'string' },
  });
  if (values.help) {
    io.out(USAGE_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`usage takes no positional argument (got "${positionals[0]}")`);
  const q = parse(
    usageQuerySchema,
    { code: values.code, from: values.from, to: values.to, includeTest: values['include-test'] ? 'true' : undefined, limit: values.limit },
    'options',
  );
  const runtime = await open();
  try {
    const items = (await listUsage(runtime.ctx, { code: q.code, from: q.from, to: q.to, includeTest: q.includeTest }, q.limit)).map(usageView);
    print(io, values.json ?? false, { items }, () =>
      table(
        items.map((u) => ({ day: u.day, code: u.code, clients: String(u.distinctIds), active: u.activeNum === null ? '' : String(u.activeNum) })),
        ['day', 'code', 'clients', 'active'],
      ),
    );
    return 0;
  } finally {
    await runtime.close();
  }
}
