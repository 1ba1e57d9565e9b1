import { getOutboxEntry, listOutbox, retryOutboxEntry, summarizeOutbox } from '../../domain/outbox';
import { outboxEntryView, outboxSummaryView } from '../../application/views';
import { outboxQuerySchema } from '../../application/schemas';
import { parse } from '../../application/validate';
import type { Runtime } from '../../runtime';
import { parseCommand } from '../args';
import { print, table, UsageError, type Io } from '../output';

const OUTBOX_HELP = `licensor outbox — the calls licensor owes other systems (the marketplace)

  licensor outbox summary [--json]
  licensor outbox list [--status pending|delivered|failed] [--kind <kind>] [--limit <n>] [--cursor <c>] [--json]
  licensor outbox show <id> [--json]
  licensor outbox retry <id> [--json]

pending entries are owed and retried with backoff; failed ones were given up (refused by the
other side, or undelivered for LICENSOR_OUTBOX_GIVE_UP_HOURS): fix the cause, then retry them.
The server delivers them; see docs/operations.md "Calls licensor owes".`;

export async function outboxCommand(argv: string[], open: () => Promise<Runtime>, io: Io): Promise<number> {
  const {
    values,
    positionals: [sub = 'summary', ...positionals],
  } = parseCommand(argv, { status: { type: 'string' }, kind: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } });
  if (values.help) {
    io.out(OUTBOX_HELP);
    return 0;
  }
  if (!['summary', 'list', 'show', 'retry'].includes(sub)) throw new UsageError(`unknown outbox command "${sub}"`);
  const needsId = sub === 'show' || sub === 'retry';
  if (needsId && positionals.length !== 1) throw new UsageError(`outbox ${sub} takes exactly one <id>`);
  if (!needsId && positionals.length > 0) throw new UsageError(`outbox ${sub} takes no positional argument (got "${positionals[0]}")`);
  const query =
    sub === 'list' ? parse(outboxQuerySchema, { status: values.status, kind: values.kind, limit: values.limit, cursor: values.cursor }, 'options') : null;
  const json = values.json ?? false;
  const runtime = await open();
  const { ctx } = runtime;
  try {
    switch (sub) {
      case 'summary': {
        const items = (await summarizeOutbox(ctx)).map(outboxSummaryView);
        print(io, json, { items }, () =>
          table(
            items.map((r) => ({ kind: r.kind, status: r.status, count: String(r.count), oldest: r.oldestAt })),
            ['kind', 'status', 'count', 'oldest'],
          ),
        );
        return 0;
      }
      case 'list': {
        const page = await listOutbox(ctx, { status: query!.status, kind: query!.kind }, query!.limit, query!.cursor ?? null);
        const items = page.items.map(outboxEntryView);
        print(io, json, { items, nextCursor: page.nextCursor }, () => {
          const text = table(
            items.map((e) => ({
              id: e.id,
              kind: e.kind,
              status: e.status,
              attempts: String(e.attempts),
              created: e.createdAt,
              'last error': (e.lastError ?? '').slice(0, 80),
            })),
            ['id', 'kind', 'status', 'attempts', 'created', 'last error'],
          );
          return page.nextCursor ? `${text}\n(more: --cursor ${page.nextCursor})` : text;
        });
        return 0;
      }
      default: {
        const entry = outboxEntryView(sub === 'retry' ? await retryOutboxEntry(ctx, positionals[0]!, 'cli') : await getOutboxEntry(ctx, positionals[0]!));
        print(io, json, { entry }, () =>
          [
            `${entry.id}  ${entry.kind}  ${entry.status}${sub === 'retry' ? ' (due now)' : ''}`,
            `  target      ${entry.target}`,
            `  attempts    ${entry.attempts}, next ${entry.nextAttemptAt}`,
            `  created     ${entry.createdAt}${entry.deliveredAt ? `, delivered ${entry.deliveredAt}` : ''}`,
            `  last error  ${entry.lastError ?? '(none)'}`,
            `  payload     ${JSON.stringify(entry.payload)}`,
          ].join('\n'),
        );
        return 0;
      }
    }
  } finally {
    await runtime.close();
  }
}
