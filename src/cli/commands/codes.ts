import { readFileSync } from 'node:fs';
import { freezeCode, getCode, issueCode, listCodeActivations, listCodes, releaseCode, renewCode, unfreezeCode } from '../../domain/codes';
import { LicensorError } from '../../domain/errors';
import { importCodes, type ImportProblem } from '../../domain/marketplace/marketplace-codes';
import { adminActivationView, codeView } from '../../application/views';
import { issueCodeRequestSchema, listCodesQuerySchema, renewalOf, renewRequestSchema, validityOf } from '../../application/schemas';
import { parse } from '../../application/validate';
import type { Runtime } from '../../runtime';
import { parseCommand, requireInt } from '../args';
import { print, table, UsageError, type Io } from '../output';

const CODES_HELP = `licensor codes — issue and manage authorization codes

  licensor codes issue --product <name> --seats <n> (--days <d> | --expires <ISO date>)
                       [--concurrent <m>] [--feature <name>]... [--test] [--json]
  licensor codes list [--product <name>] [--status issued|alive|expired|frozen|released]
                      [--search <code prefix>] [--test] [--limit <n>] [--cursor <c>] [--json]
  licensor codes show <code> [--json]
  licensor codes renew <code> (--days <d> | --until <ISO date>) [--json]
  licensor codes freeze <code> [--json]
  licensor codes unfreeze <code> [--json]
  licensor codes release <code> [--json]
  licensor codes import <file> [--product <name>] [--seats <n>] [--test] [--json]

<code> is the authorization code (any case, dashes optional) or its id.

import takes License 2.0 codes the marketplace made (docs/marketplace.md#codes-the-marketplace-made),
one a line: code,expiry[,seats] with the expiry as yyyyMMddHHmmss (UTC), YYYY-MM-DD or ISO 8601.
All rows or none: a malformed row refuses the file, naming every bad line. Codes licensor knows
already are reported and left as they are, so importing a file twice changes nothing. --product
and --seats default to LICENSOR_MARKETPLACE_PRODUCT and LICENSOR_MARKETPLACE_SEATS.`;

export async function codesCommand(argv: string[], open: () => Promise<Runtime>, io: Io): Promise<number> {
  // The subcommand is the first positional, so `codes --help` and `codes --json list` parse too.
  const {
    values,
    positionals: [sub, ...positionals],
  } = parseCommand(argv, {
    product: { type: 'string' },
    seats: { type: 'string' },
    concurrent: { type: 'string' },
    days: { type: 'string' },
    expires: { type: 'string' },
    until: { type: 'string' },
    feature: { type: 'string', multiple: true },
    test: { type: 'boolean' },
    status: { type: 'string' },
    search: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
  });
  if (values.help || !sub) {
    io.out(CODES_HELP);
    return sub || values.help ? 0 : 2;
  }
  const json = values.json ?? false;
  const needsCode = ['show', 'renew', 'freeze', 'unfreeze', 'release'].includes(sub);
  if (needsCode && positionals.length !== 1) throw new UsageError(`codes ${sub} takes exactly one <code>`);
  if (sub === 'import' && positionals.length !== 1) throw new UsageError('codes import takes exactly one <file>');
  if (!needsCode && !['issue', 'list', 'import'].includes(sub)) throw new UsageError(`unknown codes command "${sub}"`);
  if (!needsCode && sub !== 'import' && positionals.length > 0) throw new UsageError(`codes ${sub} takes no positional argument (got "${positionals[0]}")`);
  const reference = positionals[0]!;
  const importSeats = requireInt(values.seats, 'seats', 1, 100_000);
  let importFile = '';
  if (sub === 'import') {
    try {
      importFile = readFileSync(reference, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${reference}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }

  const runtime = await open();
  const { ctx } = runtime;
  try {
    switch (sub) {
      case 'issue': {
        const body = parse(
          issueCodeRequestSchema,
          {
            product: values.product,
            seats: requireInt(values.seats, 'seats', 1, 100_000),
            concurrent: requireInt(values.concurrent, 'concurrent', 1, 100_000),
            days: requireInt(values.days, 'days', 1, 36_500),
            expiresAt: values.expires,
            features: values.feature,
            test: values.test,
          },
          'options',
        );
        const code = codeView(
          await issueCode(
            ctx,
            { product: body.product, seats: body.seats, concurrent: body.concurrent, features: body.features, test: body.test, validity: validityOf(body) },
            'cli',
          ),
        );
        const inUse = code.concurrent === null ? '' : ` (${code.concurrent} at a time)`;
        print(io, json, code, () => `${code.code}\n  product ${code.product}, ${code.seats} seat(s)${inUse}, expires ${code.expiresAt}`);
        return 0;
      }
      case 'list': {
        const q = parse(
          listCodesQuerySchema,
          {
            product: values.product,
            status: values.status,
            q: values.search,
            test: values.test ? 'true' : undefined,
            limit: values.limit,
            cursor: values.cursor,
          },
          'options',
        );
        const page = await listCodes(ctx, { product: q.product, status: q.status as never, search: q.q, test: q.test }, q.limit, q.cursor ?? null);
        const items = page.items.map(codeView);
        print(io, json, { items, nextCursor: page.nextCursor }, () => {
          const text = table(
            items.map((c) => ({ code: c.code, product: c.product, status: c.status, seats: String(c.seats), expires: c.expiresAt.slice(0, 10) })),
            ['code', 'product', 'status', 'seats', 'expires'],
          );
          return page.nextCursor ? `${text}\n(more: --cursor ${page.nextCursor})` : text;
        });
        return 0;
      }
      case 'show': {
        const code = codeView(await getCode(ctx, reference));
        const activations = await listCodeActivations(ctx, reference);
        print(io, json, { ...code, activations: activations.map(adminActivationView) }, () =>
          [
            `${code.code}  (${code.id})`,
            `  product   ${code.product}`,
            `  status    ${code.status}`,
            `  seats     ${activations.filter((a) => a.status === 'active').length} of ${code.seats} in use`,
            `  expires   ${code.expiresAt}`,
            `  features  ${code.features.join(', ') || '(none)'}`,
            ...activations.map(
              (a) => `  machine   ${a.id}  ${a.status}  last heartbeat ${new Date(a.lastHeartbeatAt).toISOString()}${a.cloneSuspect ? '  CLONE?' : ''}`,
            ),
          ].join('\n'),
        );
        return 0;
      }
      case 'import': {
        const settings = runtime.config.marketplace;
        const options = { product: values.product ?? settings.product, seats: importSeats ?? settings.seats, test: values.test ?? false };
        let report;
        try {
          report = await importCodes(ctx, importFile, options, 'cli');
        } catch (err) {
          if (json || !(err instanceof LicensorError && err.code === 'import_rejected')) throw err;
          const problems = (err.details?.problems ?? []) as ImportProblem[];
          const more = Number(err.details?.more ?? 0);
          io.err(
            [
              `error: nothing was imported: ${problems.length + more} row(s) of ${reference} cannot be`,
              ...problems.map((p) => `  line ${p.line}: ${p.message}`),
              ...(more ? [`  … and ${more} more`] : []),
            ].join('\n'),
          );
          return 2;
        }
        print(io, json, report, () =>
          [
            `imported ${report.imported.length} code(s) under ${report.product}; ${report.existing.length} known already (left as they are)`,
            ...report.existing.filter((e) => e.differs.length > 0).map((e) => `  line ${e.line}: ${e.code} is known with another ${e.differs.join(' and ')}`),
          ].join('\n'),
        );
        return 0;
      }
      case 'renew': {
        const body = parse(renewRequestSchema, { days: requireInt(values.days, 'days', 1, 36_500), expiresAt: values.until }, 'options');
        const change = await renewCode(ctx, reference, renewalOf(body), 'cli');
        const code = codeView(change.code);
        print(
          io,
          json,
          { code, changed: change.changed },
          () => `${code.code}: ${code.status}, expires ${code.expiresAt}${change.changed ? '' : ' (unchanged)'}`,
        );
        return 0;
      }
      default: {
        const run = { freeze: freezeCode, unfreeze: unfreezeCode, release: releaseCode }[sub as 'freeze' | 'unfreeze' | 'release'];
        const change = await run(ctx, reference, 'cli');
        const code = codeView(change.code);
        print(io, json, { code, changed: change.changed }, () => `${code.code}: ${code.status}${change.changed ? '' : ' (already)'}`);
        return 0;
      }
    }
  } finally {
    await runtime.close();
  }
}
