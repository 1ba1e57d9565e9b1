import { createAdminToken, listAdminTokens, revokeAdminToken } from '../../domain/admin-tokens';
import { adminTokenView } from '../../application/views';
import { adminTokenNameParamSchema, adminTokenRequestSchema } from '../../application/schemas';
import { parse } from '../../application/validate';
import type { Runtime } from '../../runtime';
import { parseCommand } from '../args';
import { print, table, UsageError, type Io } from '../output';

const TOKENS_HELP = `licensor tokens — named admin tokens with a scope

  licensor tokens create --name <name> --scope read|codes|full [--products <a,b,…>] [--json]
  licensor tokens list [--json]
  licensor tokens revoke --name <name> [--json]

read reads everything; codes also issues and renews codes of the --products given; full does
everything. create prints the token once: only its SHA-256 is kept. The audit trail names each
change made with it token:<name>. A revoked token stops at once, on every server process. The
bootstrap token (LICENSOR_ADMIN_TOKEN or the generated one) keeps full scope. docs/operations.md
"Admin tokens".`;

export async function tokensCommand(argv: string[], open: () => Promise<Runtime>, io: Io): Promise<number> {
  // The subcommand is the first positional, so `tokens --help` and `tokens --json list` parse too.
  const {
    values,
    positionals: [sub, ...positionals],
  } = parseCommand(argv, { name: { type: 'string' }, scope: { type: 'string' }, products: { type: 'string' } });
  if (values.help || !sub) {
    io.out(TOKENS_HELP);
    return sub || values.help ? 0 : 2;
  }
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') throw new UsageError(`unknown tokens command "${sub}"`);
  if (positionals.length > 0) throw new UsageError(`tokens ${sub} takes no positional argument (got "${positionals[0]}")`);
  if (sub !== 'list' && !values.name) throw new UsageError('--name is required');
  const json = values.json ?? false;
  const input =
    sub === 'create'
      ? parse(
          adminTokenRequestSchema,
          {
            name: values.name,
            scope: values.scope,
            products: values.products
              ?.split(',')
              .map((p) => p.trim())
              .filter(Boolean),
          },
          'options',
        )
      : undefined;
  const runtime = await open();
  try {
    if (input) {
      const created = await createAdminToken(runtime.ctx, input, 'cli');
      const out = { token: adminTokenView(created.record), secret: created.token };
      print(io, json, out, () =>
        [
          `created token ${out.token.name} (scope ${out.token.scope}${out.token.products ? `: ${out.token.products.join(', ')}` : ''})`,
          `token (shown this once, keep it now): ${out.secret}`,
        ].join('\n'),
      );
      return 0;
    }
    if (sub === 'revoke') {
      const { name } = parse(adminTokenNameParamSchema, { name: values.name }, 'options');
      const change = await revokeAdminToken(runtime.ctx, name, 'cli');
      const out = { token: adminTokenView(change.record), changed: change.changed };
      print(io, json, out, () => (change.changed ? `revoked token ${name}` : `token ${name} was already revoked`));
      return 0;
    }
    const tokens = (await listAdminTokens(runtime.ctx)).map(adminTokenView);
    print(io, json, tokens, () =>
      table(
        tokens.map((t) => ({
          name: t.name,
          scope: t.scope,
          products: t.products?.join(',') ?? '-',
          created: t.createdAt,
          last_used: t.lastUsedAt ?? '-',
          revoked: t.revokedAt ?? '-',
        })),
        ['name', 'scope', 'products', 'created', 'last_used', 'revoked'],
      ),
    );
    return 0;
  } finally {
    await runtime.close();
  }
}
