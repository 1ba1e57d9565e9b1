import { describeKey, listSigningKeys, rotateSigningKey } from '../../domain/signing-keys';
import type { Runtime } from '../../runtime';
import { parseCommand } from '../args';
import { print, table, UsageError, type Io } from '../output';

const KEYS_HELP = `licensor keys — token signing keys

  licensor keys list [--json]     public details of every key (never the private half)
  licensor keys rotate [--json]   a new key signs from now on; old tokens keep verifying

A running server picks up a rotation made here within 15 seconds.`;

export async function keysCommand(argv: string[], open: () => Promise<Runtime>, io: Io): Promise<number> {
  // The subcommand is the first positional, so `keys --help` and `keys --json list` parse too.
  const {
    values,
    positionals: [sub, ...positionals],
  } = parseCommand(argv, {});
  if (values.help || !sub) {
    io.out(KEYS_HELP);
    return sub || values.help ? 0 : 2;
  }
  if (sub !== 'list' && sub !== 'rotate') throw new UsageError(`unknown keys command "${sub}"`);
  if (positionals.length > 0) throw new UsageError(`keys ${sub} takes no positional argument (got "${positionals[0]}")`);
  const json = values.json ?? false;
  const runtime = await open();
  try {
    if (sub === 'rotate') {
      const result = await rotateSigningKey(runtime.ctx, runtime.keyPolicy, 'cli');
      const out = { current: describeKey(result.current), retired: result.retired.map(describeKey) };
      print(io, json, out, () => `new signing key ${out.current.kid} (${out.current.alg}); retired ${out.retired.map((k) => k.kid).join(', ') || 'none'}`);
      return 0;
    }
    const keys = await listSigningKeys(runtime.ctx);
    print(io, json, keys, () =>
      table(
        keys.map((k) => ({
          kid: k.kid,
          alg: k.alg,
          status: k.status,
          created: new Date(k.createdAt).toISOString(),
          published_until: k.status === 'active' ? '-' : new Date(k.publishUntil ?? 0).toISOString(),
        })),
        ['kid', 'alg', 'status', 'created', 'published_until'],
      ),
    );
    return 0;
  } finally {
    await runtime.close();
  }
}
