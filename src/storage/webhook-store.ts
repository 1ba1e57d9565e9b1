import type { Knex } from 'knex';
import { uuidv7 } from '../domain/clock';
import type { WebhookStore } from '../domain/ports';
import type { AuditEvent, OutboxEntry, WebhookAttempt, WebhookDelivery, WebhookEndpoint } from '../domain/types';
import { subscribes, WEBHOOK_KIND, webhookTarget } from '../domain/webhooks';
import { eventFromRow, type AuditRow } from './audit-rows';
import { readThrough, type FedBy } from './change-fed-cache';
import { entryFromRow, KnexOutboxStore, type OutboxRow } from './outbox-store';
import { keySealer, type KeySealer } from './key-sealing';
import { fromJson, numberOrNull, toBool, toJson } from './rows';

interface EndpointRow {
  id: string;
  url: string;
  description: string | null;
  events: string;
  secret: string;
  enabled: boolean | number;
  failure_streak: number | string;
  failing_since: number | string | null;
  disabled_at: number | string | null;
  disabled_reason: string | null;
  created_at: number | string;
  updated_at: number | string;
}

interface AttemptRow {
  id: string;
  endpoint_id: string;
  outbox_id: string;
  event_id: string;
  at: number | string;
  duration_ms: number | string;
  ok: boolean | number;
  status_code: number | null;
  response: string | null;
  error: string | null;
}

function endpointFromRow(row: EndpointRow, sealer: KeySealer): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: fromJson<string[]>(row.events, []),
    // Sealed when a key-encryption key was set as it was written; one written before is read as it is.
    secret: sealer.isSealed(row.secret) ? sealer.open(row.id, row.secret) : row.secret,
    enabled: toBool(row.enabled),
    failureStreak: Number(row.failure_streak),
    failingSince: numberOrNull(row.failing_since),
    disabledAt: numberOrNull(row.disabled_at),
    disabledReason: row.disabled_reason,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function endpointToRow(e: WebhookEndpoint, sealer: KeySealer): EndpointRow {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    events: toJson(e.events),
    secret: sealer.seal(e.id, e.secret),
    enabled: e.enabled,
    failure_streak: e.failureStreak,
    failing_since: e.failingSince,
    disabled_at: e.disabledAt,
    disabled_reason: e.disabledReason,
    created_at: e.createdAt,
    updated_at: e.updatedAt,
  };
}

function attemptFromRow(row: AttemptRow): WebhookAttempt {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    outboxId: row.outbox_id,
    eventId: row.event_id,
    at: Number(row.at),
    durationMs: Number(row.duration_ms),
    ok: toBool(row.ok),
    statusCode: numberOrNull(row.status_code),
    response: row.response,
    error: row.error,
  };
}

/** A receiver's answer as kept: an excerpt, so a large answer cannot bloat the table. */
const MAX_RESPONSE = 1000;

type Announced = Pick<AuditEvent, 'id' | 'action' | 'at'>;

/**
 * Enqueues the deliveries of audit events just written, in the writer's transaction: one outbox
 * entry per event and enabled endpoint that takes its type, keyed by both so that it is owed once.
 * Every writer of audit events calls it (the audit store, and the sweeper's bulk statements in
 * the code store), so every audited event is announced. With no endpoint it costs one small read.
 */
export async function enqueueWebhookDeliveries(
  db: Knex | Knex.Transaction,
  events: readonly Announced[],
  /** The enabled endpoints in memory, kept fresh by the change feed (migration 017). */
  enabled: FedBy<EnabledEndpoint[]> | null = null,
): Promise<void> {
  if (events.length > 0)
    await enqueueFor(
      db,
      events.map((e) => e.action),
      async () => events,
      enabled,
    );
}

/**
 * The same for events a bulk statement wrote (the sweeper's: src/storage/code-store.ts), found by
 * their time, actor and actions among the events of the codes `codeIds` selects; read only when
 * an endpoint takes one of those actions. An event already announced is skipped by the outbox's key.
 */
export async function enqueueWebhookDeliveriesWritten(
  db: Knex | Knex.Transaction,
  written: { at: number; actor: string; actions: readonly string[]; codeIds: Knex.QueryBuilder },
): Promise<void> {
  await enqueueFor(
    db,
    written.actions,
    async () =>
      (await db('audit_events')
        .where({ at: written.at, actor: written.actor })
        .whereIn('action', written.actions)
        .whereIn('code_id', written.codeIds)
        .orderBy('id')
        .select('id', 'action', 'at')) as Announced[],
  );
}

const ENABLED_ENDPOINTS = 'SELECT id, events FROM webhook_endpoints WHERE enabled = ?';

/** An enabled endpoint as enqueuing needs it: which events it takes. */
export interface EnabledEndpoint {
  id: string;
  events: string[];
}

async function enqueueFor(
  db: Knex | Knex.Transaction,
  actions: readonly string[],
  events: () => Promise<readonly Announced[]>,
  enabled: FedBy<EnabledEndpoint[]> | null = null,
): Promise<void> {
  // Every audited write asks this: from memory while the change feed vouches for it, otherwise
  // plain SQL, without the query builder's work on each call.
  const all = await readThrough(enabled, 'enabled', async () => {
    const result = (await db.raw(ENABLED_ENDPOINTS, [true])) as Array<Pick<EndpointRow, 'id' | 'events'>> | { rows: Array<Pick<EndpointRow, 'id' | 'events'>> };
    return (Array.isArray(result) ? result : result.rows).map((e) => ({ id: e.id, events: fromJson<string[]>(e.events, []) }));
  });
  const endpoints = (all ?? []).filter((e) => actions.some((action) => subscribes(e.events, action)));
  if (endpoints.length === 0) return;
  const owed: OutboxEntry[] = [];
  for (const event of await events()) {
    for (const endpoint of endpoints) {
      if (!subscribes(endpoint.events, event.action)) continue;
      const at = Number(event.at);
      owed.push({
        // Time-ordered ids: an endpoint's deliveries go out in the order their events were written.
        id: uuidv7(),
        kind: WEBHOOK_KIND,
        target: webhookTarget(endpoint.id),
        key: `${event.id}:${endpoint.id}`,
        payload: { eventId: event.id, type: event.action },
        status: 'pending',
        attempts: 0,
        nextAttemptAt: at,
        lastError: null,
        createdAt: at,
        updatedAt: at,
        deliveredAt: null,
      });
    }
  }
  await new KnexOutboxStore(db).enqueueMany(owed);
}

export async function countWebhookEndpoints(db: Knex): Promise<{ on: number; off: number }> {
  const rows = (await db('webhook_endpoints').select('enabled').count({ n: '*' }).groupBy('enabled')) as Array<{
    enabled: boolean | number;
    n: number | string;
  }>;
  const count = (on: boolean) => rows.filter((r) => toBool(r.enabled) === on).reduce((sum, r) => sum + Number(r.n), 0);
  return { on: count(true), off: count(false) };
}

export class KnexWebhookStore implements WebhookStore {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    /** Signing secrets are sealed at rest like signing keys (docs/deploy.md "Signing keys at rest"). */
    private readonly sealer: KeySealer = keySealer(undefined),
    /** The enabled endpoints in memory: told when this store changes which endpoints take which events. */
    private readonly enabled: FedBy<EnabledEndpoint[]> | null = null,
  ) {}

  async insert(endpoint: WebhookEndpoint): Promise<void> {
    this.enabled?.wrote?.();
    await this.db('webhook_endpoints').insert(endpointToRow(endpoint, this.sealer));
  }

  async find(id: string): Promise<WebhookEndpoint | undefined> {
    const row = await this.db<EndpointRow>('webhook_endpoints').where({ id }).first();
    return row && endpointFromRow(row, this.sealer);
  }

  async list(): Promise<WebhookEndpoint[]> {
    return ((await this.db<EndpointRow>('webhook_endpoints').select('*').orderBy('id')) as EndpointRow[]).map((row) => endpointFromRow(row, this.sealer));
  }

  async update(endpoint: WebhookEndpoint): Promise<void> {
    const { id, created_at: _created, ...patch } = endpointToRow(endpoint, this.sealer);
    this.enabled?.wrote?.();
    await this.db('webhook_endpoints').where({ id }).update(patch);
  }

  async delete(id: string): Promise<void> {
    this.enabled?.wrote?.();
    await this.db('webhook_endpoints').where({ id }).delete();
  }

  async event(id: string): Promise<AuditEvent | undefined> {
    const row = await this.db<AuditRow>('audit_events').where({ id }).first();
    return row && eventFromRow(row);
  }

  async recordAttempt(a: WebhookAttempt): Promise<void> {
    await this.db('webhook_attempts').insert({
      id: a.id,
      endpoint_id: a.endpointId,
      outbox_id: a.outboxId,
      event_id: a.eventId,
      at: a.at,
      duration_ms: a.durationMs,
      ok: a.ok,
      status_code: a.statusCode,
      response: a.response?.slice(0, MAX_RESPONSE) ?? null,
      error: a.error?.slice(0, MAX_RESPONSE) ?? null,
    });
  }

  async pruneAttempts(before: number): Promise<number> {
    return this.db('webhook_attempts').where('at', '<', before).delete();
  }

  async noteSuccess(id: string, now: number): Promise<void> {
    await this.db('webhook_endpoints').where({ id }).andWhere('failure_streak', '>', 0).update({ failure_streak: 0, failing_since: null, updated_at: now });
  }

  async noteFailure(id: string, now: number): Promise<WebhookEndpoint | undefined> {
    const rows = (await this.db('webhook_endpoints')
      .where({ id })
      .update({ failure_streak: this.db.raw('failure_streak + 1'), failing_since: this.db.raw('COALESCE(failing_since, ?)', [now]), updated_at: now })
      .returning('*')) as EndpointRow[];
    return rows[0] && endpointFromRow(rows[0], this.sealer);
  }

  async disable(id: string, now: number, reason: string): Promise<boolean> {
    this.enabled?.wrote?.();
    const n = await this.db('webhook_endpoints')
      .where({ id, enabled: true })
      .update({ enabled: false, disabled_at: now, disabled_reason: reason, updated_at: now });
    return n > 0;
  }

  async deliveries(endpointId: string, limit: number): Promise<WebhookDelivery[]> {
    const entries = (
      (await this.db<OutboxRow>('outbox')
        .where({ kind: WEBHOOK_KIND, target: webhookTarget(endpointId) })
        .orderBy('id', 'desc')
        .limit(limit)) as OutboxRow[]
    ).map(entryFromRow);
    if (entries.length === 0) return [];
    const attempts = (
      (await this.db<AttemptRow>('webhook_attempts')
        .whereIn(
          'outbox_id',
          entries.map((e) => e.id),
        )
        .orderBy('id')) as AttemptRow[]
    ).map(attemptFromRow);
    const latest = new Map(attempts.map((a) => [a.outboxId, a]));
    return entries.map((entry) => ({
      entry,
      eventId: String(entry.payload.eventId ?? ''),
      eventType: typeof entry.payload.type === 'string' ? entry.payload.type : null,
      lastAttempt: latest.get(entry.id) ?? null,
    }));
  }
}
