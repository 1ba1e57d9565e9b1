import {
  deleteWebhook,
  getWebhook,
  listWebhookDeliveries,
  listWebhooks,
  registerWebhook,
  resendWebhookDelivery,
  rotateWebhookSecret,
  updateWebhook,
} from '../../domain/webhooks';
import { deliveriesQuerySchema, webhookChangeSchema, webhookRequestSchema } from '../../application/schemas';
import { parse } from '../../application/validate';
import { deliveryView, endpointView, outboxEntryView } from '../../application/views';
import { webhookUrlGuard } from '../../outbound/webhook-sender';
import type { Runtime } from '../../runtime';
import { parseCommand } from '../args';
import { print, table, UsageError, type Io } from '../output';

const WEBHOOKS_HELP = `licensor webhooks — endpoints told of every audited event (docs/webhooks.md)

  licensor webhooks list [--json]
  licensor webhooks add <url> --events code.issued,activation.* [--description <text>] [--json]
  licensor webhooks show <id> [--json]
  licensor webhooks enable|disable <id> [--json]
  licensor webhooks rotate-secret <id> [--json]
  licensor webhooks remove <id>
  licensor webhooks deliveries <id> [--limit <n>] [--json]
  licensor webhooks resend <id> <delivery-id> [--json]

add and rotate-secret print the endpoint's signing secret, this once. A running server delivers; an endpoint
failing for LICENSOR_WEBHOOKS_DISABLE_AFTER_HOURS is switched off: enable it, then resend.`;

const ARITY: Record<string, number> = { list: 0, add: 1, show: 1, enable: 1, disable: 1, 'rotate-secret': 1, remove: 1, deliveries: 1, resend: 2 };

export async function webhooksCommand(argv: string[], open: () => Promise<Runtime>, io: Io): Promise<number> {
  const {
    values,
    positionals: [sub = 'list', ...positionals],
  } = parseCommand(argv, { events: { type: 'string' }, description: { type: 'string' }, limit: { type: 'string' } });
  if (values.help) {
    io.out(WEBHOOKS_HELP);
    return 0;
  }
  const arity = ARITY[sub];
  if (arity === undefined) throw new UsageError(`unknown webhooks command "${sub}"`);
  if (positionals.length !== arity)
    throw new UsageError(`webhooks ${sub} takes ${arity === 0 ? 'no positional argument' : arity === 1 ? 'exactly one argument' : 'exactly two arguments'}`);
  const events = values.events
    ?.split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const added = sub === 'add' ? parse(webhookRequestSchema, { url: positionals[0], events, description: values.description }, 'options') : null;
  const limit = sub === 'deliveries' ? parse(deliveriesQuerySchema, { limit: values.limit }, 'options').limit : 0;
  const json = values.json ?? false;
  const runtime = await open();
  const { ctx } = runtime;
  const guard = webhookUrlGuard(runtime.config.webhooks.allowPrivate);
  const [id = '', delivery = ''] = positionals;
  const showOne = (endpoint: ReturnType<typeof endpointView>, extra: Record<string, unknown> = {}) =>
    print(io, json, { endpoint, ...extra }, () =>
      [
        `${endpoint.id}  ${endpoint.enabled ? 'on' : 'off'}  ${endpoint.url}`,
        `  events      ${endpoint.events.join(', ')}`,
        ...(endpoint.description ? [`  about       ${endpoint.description}`] : []),
        `  failing     ${endpoint.failureStreak === 0 ? 'no' : `${endpoint.failureStreak} in a row since ${endpoint.failingSince}`}`,
        ...(endpoint.disabledReason ? [`  off because ${endpoint.disabledReason}`] : []),
        ...(typeof extra.secret === 'string' ? [`  secret      ${extra.secret}  (shown this once: keep it where the receiver can read it)`] : []),
      ].join('\n'),
    );
  try {
    switch (sub) {
      case 'list': {
        const items = (await listWebhooks(ctx)).map(endpointView);
        print(io, json, { items }, () =>
          table(
            items.map((e) => ({ id: e.id, state: e.enabled ? 'on' : 'off', url: e.url, events: e.events.join(','), failing: String(e.failureStreak) })),
            ['id', 'state', 'url', 'events', 'failing'],
          ),
        );
        return 0;
      }
      case 'add': {
        const endpoint = await registerWebhook(ctx, added!, 'cli', guard);
        showOne(endpointView(endpoint), { secret: endpoint.secret });
        return 0;
      }
      case 'show':
        showOne(endpointView(await getWebhook(ctx, id)));
        return 0;
      case 'rotate-secret': {
        const endpoint = await rotateWebhookSecret(ctx, id, 'cli');
        showOne(endpointView(endpoint), { secret: endpoint.secret });
        return 0;
      }
      case 'enable':
      case 'disable':
        showOne(endpointView(await updateWebhook(ctx, id, parse(webhookChangeSchema, { enabled: sub === 'enable' }, 'options'), 'cli', guard)));
        return 0;
      case 'remove':
        await deleteWebhook(ctx, id, 'cli');
        print(io, json, { removed: id }, () => `removed ${id}`);
        return 0;
      case 'deliveries': {
        const items = (await listWebhookDeliveries(ctx, id, limit)).map(deliveryView);
        print(io, json, { items }, () =>
          table(
            items.map((d) => ({
              id: d.entry.id,
              event: d.eventType ?? '',
              status: d.entry.status,
              attempts: String(d.entry.attempts),
              'last answer': d.lastAttempt
                ? (d.lastAttempt.statusCode === null ? (d.lastAttempt.error ?? '') : `HTTP ${d.lastAttempt.statusCode}`).slice(0, 60)
                : '',
            })),
            ['id', 'event', 'status', 'attempts', 'last answer'],
          ),
        );
        return 0;
      }
      default: {
        const entry = outboxEntryView(await resendWebhookDelivery(ctx, id, delivery, 'cli'));
        print(io, json, { entry }, () => `${entry.id}  owed again (${String(entry.payload.type)}, event ${String(entry.payload.eventId)})`);
        return 0;
      }
    }
  } finally {
    await runtime.close();
  }
}
