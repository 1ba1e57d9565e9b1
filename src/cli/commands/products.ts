import { createProduct, listProducts, publishVersion } from '../../domain/products';
import { changeProductPolicy } from '../../domain/product-policy-change';
import { productPolicyChangeSchema, productRequestSchema, publishVersionRequestSchema } from '../../application/schemas';
import { parse } from '../../application/validate';
import type { Runtime } from '../../runtime';
import { parseCommand, requireInt } from '../args';
import { print, table, UsageError, type Io } from '../output';
import { productView } from '../../application/views';

const PRODUCTS_HELP = `licensor products — manage products (seat mode and lease policy live here)

  licensor products create --name <name> [--seat-mode node_locked|floating]
                           [--lease-seconds <s>] [--heartbeat-seconds <s>]
                           [--match exact|fuzzy|loose] [--reclaim eager|soft]
                           [--churn-limit <n> [--churn-period-seconds <s>]]
                           [--fingerprint-change-window-seconds <s>]
                           [--containers refuse|instance] [--json]
  licensor products update --name <name> [any of the policy options above]
                           [--churn-limit none] [--json]
  licensor products list [--json]
  licensor products publish-version --name <name> --version <version> [--required] [--json]

publish-version makes heartbeat answers carry <version> as the latest; clients running an older
version raise an update notice. --required also makes it the minimum: older versions must update.
update changes only the options given; --churn-limit none removes the limit. What a change does
to codes and machines already out there, and which changes are refused: docs/policies.md
"Changing a policy". Policies and their defaults: docs/policies.md.`;

export async function productsCommand(argv: string[], open: () => Promise<Runtime>, io: Io): Promise<number> {
  // The subcommand is the first positional, so `products --help` and `products --json list` parse too.
  const {
    values,
    positionals: [sub, ...positionals],
  } = parseCommand(argv, {
    name: { type: 'string' },
    'seat-mode': { type: 'string' },
    'lease-seconds': { type: 'string' },
    'heartbeat-seconds': { type: 'string' },
    match: { type: 'string' },
    reclaim: { type: 'string' },
    'churn-limit': { type: 'string' },
    'churn-period-seconds': { type: 'string' },
    'fingerprint-change-window-seconds': { type: 'string' },
    containers: { type: 'string' },
    version: { type: 'string' },
    required: { type: 'boolean' },
  });
  if (values.help || !sub) {
    io.out(PRODUCTS_HELP);
    return sub || values.help ? 0 : 2;
  }
  if (sub !== 'create' && sub !== 'update' && sub !== 'list' && sub !== 'publish-version') throw new UsageError(`unknown products command "${sub}"`);
  if (positionals.length > 0) throw new UsageError(`products ${sub} takes no positional argument (got "${positionals[0]}")`);
  const json = values.json ?? false;
  const runtime = await open();
  try {
    if (sub === 'create') {
      if (!values.name) throw new UsageError('--name is required');
      const input = parse(productRequestSchema, { name: values.name, ...policyOptions(values) }, 'options');
      const product = productView(await createProduct(runtime.ctx, input, 'cli'));
      print(
        io,
        json,
        product,
        () => `created product ${product.name} (${product.seatMode}, lease ${product.leaseSeconds}s, heartbeat every ${product.heartbeatIntervalSeconds}s)`,
      );
      return 0;
    }
    if (sub === 'update') {
      if (!values.name) throw new UsageError('--name is required');
      const change = parse(productPolicyChangeSchema, policyOptions(values), 'options');
      const result = await changeProductPolicy(runtime.ctx, values.name, change, 'cli');
      const product = productView(result.product);
      print(io, json, { product, changed: result.changed }, () =>
        result.changed
          ? `updated product ${product.name} (${product.seatMode}, lease ${product.leaseSeconds}s, heartbeat every ${product.heartbeatIntervalSeconds}s)`
          : `product ${product.name} already had that policy; nothing changed`,
      );
      return 0;
    }
    if (sub === 'publish-version') {
      if (!values.name) throw new UsageError('--name is required');
      if (!values.version) throw new UsageError('--version is required');
      const release = parse(publishVersionRequestSchema, { version: values.version, required: values.required }, 'options');
      const product = productView(await publishVersion(runtime.ctx, values.name, release, 'cli'));
      print(io, json, product, () => `${product.name}: latest version ${product.latestVersion}, minimum ${product.minimumVersion ?? 'none'}`);
      return 0;
    }
    const products = (await listProducts(runtime.ctx)).map(productView);
    print(io, json, products, () =>
      table(
        products.map((p) => ({
          name: p.name,
          seat_mode: p.seatMode,
          lease_s: String(p.leaseSeconds),
          heartbeat_s: String(p.heartbeatIntervalSeconds),
          match: p.matchStrategy,
        })),
        ['name', 'seat_mode', 'lease_s', 'heartbeat_s', 'match'],
      ),
    );
    return 0;
  } finally {
    await runtime.close();
  }
}

/** The policy options of create and update, as the request schema's fields (validated by it). */
function policyOptions(values: Partial<Record<string, string | boolean>>): Record<string, unknown> {
  const text = (name: string) => values[name] as string | undefined;
  const seconds = (name: string) => requireInt(text(name), name, 1, Number.MAX_SAFE_INTEGER);
  return {
    seatMode: text('seat-mode'),
    leaseSeconds: seconds('lease-seconds'),
    heartbeatIntervalSeconds: seconds('heartbeat-seconds'),
    matchStrategy: text('match'),
    reclaim: text('reclaim'),
    churnLimit: text('churn-limit') === 'none' ? null : requireInt(text('churn-limit'), 'churn-limit', 1, 100_000),
    churnPeriodSeconds: seconds('churn-period-seconds'),
    fingerprintChangeWindowSeconds: seconds('fingerprint-change-window-seconds'),
    containers: text('containers'),
  };
}
