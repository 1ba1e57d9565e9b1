import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { issueCode } from '../src/domain/codes';
import { sweep } from '../src/domain/sweeper';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerWebhook, WEBHOOK_EVENT_TYPES } from '../src/domain/webhooks';
import { webhookUrlGuard } from '../src/outbound/webhook-sender';
import { DAY, HOUR, MINUTE, SECOND } from './support/clock';
import { cliEnv, runCli } from './support/cli';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';
import { receiverVerifies, startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver';

/**
 * Webhooks (docs/webhooks.md), against a real receiving HTTP server on loopback: what is
 * announced, signed how, in which order, retried when, and switched off after failing too long.
 * The outbox is drained by hand; the clock moves by hand.
 */
forEachEngine('webhooks', (engine) => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  let product: string;
  let n = 0;

  before(async () => {
    server = await startTestServer(engine, {
      LICENSOR_WEBHOOKS_ALLOW_PRIVATE: 'true',
      LICENSOR_OUTBOX_POLL_MS: '60000',
      LICENSOR_WEBHOOKS_TIMEOUT_MS: '300',
      LICENSOR_WEBHOOKS_DISABLE_AFTER_HOURS: '2',
    });
  });
  after(async () => server?.close());
  beforeEach(async () => {
    receiver = await startWebhookReceiver();
    product = `hooks-${engine}-${++n}`;
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
  });
  afterEach(async () => {
    // Endpoints of one test do not hear the next one's events.
    for (const e of (await admin(server.url, 'GET', '/v1/admin/webhooks')).body.items) await admin(server.url, 'DELETE', `/v1/admin/webhooks/${e.id}`);
    await drain();
    await receiver.close();
  });

  const drain = () => server.running.outbox.drain();
  /**
   * The CLI is another process: the server learns of its change from the change feed, within a
   * poll of SQLite's change log (100 ms) or a PostgreSQL notice (docs/data-model.md). A code issued
   * before that is enqueued by what the server knew; the test waits the poll out three times over.
   */
  const seenByServer = () => new Promise((resolve) => setTimeout(resolve, 300));
  const register = async (events: string[], url = receiver.url) => {
    const res = await admin(server.url, 'POST', '/v1/admin/webhooks', { url, events, description: 'test receiver' });
    assert.equal(res.status, 201, res.text);
    return res.body as { endpoint: { id: string }; secret: string };
  };
  const issue = async (days = 30) =>
    (await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 1, days })).body.code as { id: string; code: string };
  const types = () => receiver.received.map((r) => r.event.type);
  const nowSeconds = () => Math.floor(server.clock.now() / 1000);
  const deliveries = async (id: string) => (await admin(server.url, 'GET', `/v1/admin/webhooks/${id}/deliveries`)).body.items as Array<Record<string, any>>;

  describe('registering an endpoint', () => {
    it('shows the signing secret in the answer to the registration only', async () => {
      const { endpoint, secret } = await register(['code.issued']);
      assert.match(secret, /^whsec_[\w-]{32}$/);
      const shown = await admin(server.url, 'GET', `/v1/admin/webhooks/${endpoint.id}`);
      assert.equal(shown.status, 200);
      assert.deepEqual(shown.body.endpoint.events, ['code.issued']);
      assert.ok(!shown.text.includes(secret));
      assert.ok(!(await admin(server.url, 'GET', '/v1/admin/webhooks')).text.includes(secret));
      const trail = await admin(server.url, 'GET', `/v1/admin/audit?action=webhook.created&limit=100`);
      assert.ok(trail.body.items.some((e: { entityId: string }) => e.entityId === endpoint.id));
      assert.ok(!trail.text.includes(secret));
    });

    it('keeps the secret sealed at rest when a key-encryption key is set, and signs with it', async () => {
      const sealed = await startTestServer(engine, {
        LICENSOR_WEBHOOKS_ALLOW_PRIVATE: 'true',
        LICENSOR_OUTBOX_POLL_MS: '60000',
        LICENSOR_KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      });
      try {
        const res = await admin(sealed.url, 'POST', '/v1/admin/webhooks', { url: receiver.url, events: ['product.created'] });
        const { endpoint, secret } = res.body;
        const row = await sealed.running.runtime.database.knex('webhook_endpoints').where({ id: endpoint.id }).first();
        assert.match(row.secret, /^enc:v1:/);
        assert.ok(!String(row.secret).includes(secret.slice(6)));
        await admin(sealed.url, 'POST', '/v1/admin/products', { name: 'sealed' });
        await sealed.running.outbox.drain();
        assert.equal(receiver.received.length, 1);
        assert.ok(receiverVerifies(secret, receiver.received[0]!, Math.floor(sealed.clock.now() / 1000)));
      } finally {
        await sealed.close();
      }
    });

    it('rotates the secret: the new one is shown once and signs from the next attempt on', async () => {
      const { endpoint, secret: old } = await register(['code.issued']);
      const rotated = await admin(server.url, 'POST', `/v1/admin/webhooks/${endpoint.id}/secret`);
      assert.equal(rotated.status, 200, rotated.text);
      const secret = rotated.body.secret as string;
      assert.notEqual(secret, old);
      await issue();
      await drain();
      assert.ok(receiverVerifies(secret, receiver.received[0]!, nowSeconds()));
      assert.ok(!receiverVerifies(old, receiver.received[0]!, nowSeconds()));
      const trail = await admin(server.url, 'GET', `/v1/admin/audit?action=webhook.secret_rotated&limit=100`);
      assert.ok(trail.body.items.some((e: { entityId: string }) => e.entityId === endpoint.id));
      assert.ok(!trail.text.includes(secret));
      assert.equal((await admin(server.url, 'POST', '/v1/admin/webhooks/nope/secret')).body.error.code, 'webhook_not_found');
    });

    it('refuses bad input with stable codes', async () => {
      const cases: Array<[unknown, number, string]> = [
        [{ url: 'ftp://example.com/x', events: ['*'] }, 400, 'webhook_url_invalid'],
        [{ url: 'not a url', events: ['*'] }, 400, 'webhook_url_invalid'],
        [{ url: 'https://user:pw@example.com/', events: ['*'] }, 400, 'webhook_url_invalid'],
        [{ url: receiver.url, events: ['code.exploded'] }, 400, 'webhook_event_type_unknown'],
        [{ url: receiver.url, events: ['nothing.*'] }, 400, 'webhook_event_type_unknown'],
        [{ url: receiver.url, events: [] }, 400, 'invalid_request'],
        [{ url: receiver.url }, 400, 'invalid_request'],
        [{ url: receiver.url, events: ['*'], secret: 'mine' }, 400, 'invalid_request'],
      ];
      for (const [body, status, code] of cases) {
        const res = await admin(server.url, 'POST', '/v1/admin/webhooks', body);
        assert.equal(res.status, status, JSON.stringify(body));
        assert.equal(res.body.error.code, code, JSON.stringify(body));
      }
      assert.equal((await admin(server.url, 'GET', '/v1/admin/webhooks/nope')).body.error.code, 'webhook_not_found');
      assert.equal((await admin(server.url, 'PATCH', '/v1/admin/webhooks/nope', { enabled: false })).body.error.code, 'webhook_not_found');
      const { endpoint } = await register(['*']);
      assert.equal((await admin(server.url, 'PATCH', `/v1/admin/webhooks/${endpoint.id}`, {})).status, 400);
      assert.equal((await admin(server.url, 'POST', `/v1/admin/webhooks/${endpoint.id}/deliveries/nope/resend`)).body.error.code, 'webhook_delivery_not_found');
      assert.equal((await call(server.url, 'GET', '/v1/admin/webhooks')).status, 401);
    });

    it('lists the event types an endpoint may ask for', async () => {
      const { items } = (await admin(server.url, 'GET', '/v1/admin/webhooks/event-types')).body;
      for (const type of [
        '*',
        'code.issued',
        'code.renewed',
        'code.expired',
        'code.frozen',
        'code.released',
        'activation.created',
        'activation.deactivated',
        'activation.clone_suspected',
        'code.order_applied',
      ]) {
        assert.ok(items.includes(type), type);
      }
    });
  });

  describe('deliveries', () => {
    it('announces each audited event the endpoint takes, signed with its secret, in the order they happened', async () => {
      const { endpoint, secret } = await register(['code.*']);
      const a = await issue();
      const b = await issue();
      await admin(server.url, 'POST', `/v1/admin/codes/${a.code}/freeze`);
      await admin(server.url, 'POST', '/v1/admin/products', { name: `${product}-not-taken` });
      await admin(server.url, 'POST', `/v1/admin/codes/${b.code}/renew`, { days: 10 });
      assert.equal(receiver.received.length, 0, 'nothing is sent on the request path');
      await drain();
      assert.deepEqual(types(), ['code.issued', 'code.issued', 'code.frozen', 'code.renewed']);
      assert.deepEqual(
        receiver.received.map((r) => r.event.codeId),
        [a.id, b.id, a.id, b.id],
      );
      for (const r of receiver.received) {
        assert.ok(receiverVerifies(secret, r, nowSeconds()), 'the receiver verifies the signature');
        assert.equal(r.headers['licensor-event-id'], r.event.id);
        assert.equal(r.headers['licensor-event-type'], r.event.type);
        assert.equal(r.headers['content-type'], 'application/json');
      }
      assert.ok(!receiverVerifies('whsec_someone-else', receiver.received[0]!, nowSeconds()));
      assert.equal((receiver.received[2]!.event.before as { status: string }).status, 'issued');
      // The event id is the audit event's: one trail, one id to de-duplicate by.
      const trail = (await admin(server.url, 'GET', `/v1/admin/audit?code=${a.id}&limit=10`)).body.items as Array<{ id: string }>;
      assert.ok(trail.some((e) => e.id === receiver.received[0]!.event.id));
      const shown = await deliveries(endpoint.id);
      assert.equal(shown.length, 4);
      assert.ok(shown.every((d) => d.entry.status === 'delivered' && d.lastAttempt.statusCode === 200 && d.lastAttempt.response === 'thanks'));
    });

    it('announces nothing of a change that did not happen', async () => {
      await register(['code.issued', 'activation.created']);
      const refused = await admin(server.url, 'POST', '/v1/admin/codes', { product: 'no-such-product', seats: 1, days: 30 });
      assert.equal(refused.status, 404);
      const code = await issue();
      assert.equal((await call(server.url, 'POST', '/v1/activations', { code: code.code, fingerprint: machine('first') })).status, 201);
      const full = await call(server.url, 'POST', '/v1/activations', { code: code.code, fingerprint: machine('second') });
      assert.equal(full.body.error.code, 'seat_limit_reached');
      await drain();
      assert.deepEqual(types(), ['code.issued', 'activation.created']);
    });

    it('announces a code’s seat and concurrency limits being reached, at most once an hour per code', async () => {
      await register(['code.seat_limit_reached', 'code.concurrency_limit_reached']);
      const full = await issue();
      const mOfN = (await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 2, concurrent: 1, days: 30 })).body.code as {
        id: string;
        code: string;
      };
      const activate = (code: string, name: string) => call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine(name) });
      assert.equal((await activate(full.code, 'holder')).status, 201);
      assert.equal((await activate(full.code, 'refused-1')).body.error.code, 'seat_limit_reached');
      assert.equal((await activate(full.code, 'refused-2')).body.error.code, 'seat_limit_reached');
      assert.equal((await activate(mOfN.code, 'in-use')).status, 201);
      assert.equal((await activate(mOfN.code, 'waiting')).body.error.code, 'concurrency_limit_reached');
      server.clock.advance(HOUR);
      assert.equal((await activate(full.code, 'refused-3')).body.error.code, 'seat_limit_reached');
      await drain();
      assert.deepEqual(
        receiver.received.map((r) => [r.event.type, r.event.codeId]),
        [
          ['code.seat_limit_reached', full.id],
          ['code.concurrency_limit_reached', mOfN.id],
          ['code.seat_limit_reached', full.id],
        ],
      );
      assert.deepEqual(receiver.received[0]!.event.after, { seats: 1 });
    });

    it('announces the activations of a code and the sweeper’s bulk expiry and release', async () => {
      await register(['activation.*', 'code.expired', 'code.released']);
      const code = await issue(1);
      const activated = await call(server.url, 'POST', '/v1/activations', { code: code.code, fingerprint: machine('swept') });
      assert.equal(activated.status, 201, activated.text);
      server.clock.advance(2 * DAY);
      await server.running.sweeper.runOnce();
      await drain();
      assert.deepEqual(types(), ['activation.created', 'code.expired']);
    });

    it('announces every event of a large sweep to every endpoint once, each endpoint’s in the order they were written', async () => {
      const a = await register(['code.expired']);
      const b = await register(['code.*']);
      const { ctx } = server.running.runtime;
      const CODES = 700;
      for (let i = 0; i < CODES; i++) {
        await issueCode(ctx, { product, seats: 1, validity: { expiresAt: server.clock.now() + DAY + i * SECOND }, features: [] }, 'test');
      }
      server.clock.advance(2 * DAY);
      // In batches of 100, all at the same time: each batch announces its own events, none again.
      await sweep(ctx, { releaseExpiredAfterMs: null, batchSize: 100 });
      const knex = server.running.runtime.database.knex;
      try {
        // The order they were written in: the sweeper's, by expiry date.
        const productId = (await admin(server.url, 'GET', `/v1/admin/products/${product}`)).body.product.id as string;
        const written = (
          (await knex('audit_events as a')
            .join('codes as c', 'c.id', 'a.code_id')
            .where({ 'a.action': 'code.expired', 'c.product_id': productId })
            .orderBy(['c.expires_at', 'c.id'])
            .select('a.id')) as Array<{ id: string }>
        ).map((e) => e.id);
        assert.equal(written.length, CODES);
        for (const { endpoint } of [a, b]) {
          const owed = (await knex('outbox')
            .where({ target: `webhook:${endpoint.id}` })
            .orderBy('id')
            .select('payload')) as Array<{ payload: string }>;
          const expired = owed.map((o) => JSON.parse(o.payload) as { eventId: string; type: string }).filter((p) => p.type === 'code.expired');
          assert.equal(new Set(expired.map((p) => p.eventId)).size, expired.length, 'each event once');
          assert.deepEqual(
            expired.map((p) => p.eventId),
            written,
            'every event, in the order written',
          );
        }
      } finally {
        await knex('outbox').where('target', 'like', 'webhook:%').delete(); // not sent: the receiver has other tests to hear
      }
    });

    it('retries after a 500 and after a timeout, with growing waits, and holds later events back until the first is delivered', async () => {
      const { endpoint } = await register(['code.issued']);
      receiver.script.push(500, 'hang');
      const first = await issue();
      const second = await issue();
      await drain();
      assert.deepEqual(
        receiver.received.map((r) => r.event.codeId),
        [first.id],
        'the second waits behind the first',
      );
      let [, older] = await deliveries(endpoint.id);
      assert.equal(older!.entry.status, 'pending');
      assert.equal(older!.entry.attempts, 1);
      assert.equal(older!.lastAttempt.statusCode, 500);
      assert.equal(older!.lastAttempt.response, 'receiver says 500');

      await drain();
      assert.equal(receiver.received.length, 1, 'not due again before the wait is over');
      server.clock.advance(30 * SECOND);
      await drain(); // the receiver does not answer
      assert.equal(receiver.received.length, 2);
      [, older] = await deliveries(endpoint.id);
      assert.equal(older!.entry.attempts, 2);
      assert.equal(older!.lastAttempt.statusCode, null);
      assert.match(older!.lastAttempt.error, /no answer within 300 ms/);

      server.clock.advance(30 * SECOND);
      await drain();
      assert.equal(receiver.received.length, 2, 'the second wait is twice the first');
      server.clock.advance(30 * SECOND);
      await drain();
      assert.deepEqual(
        receiver.received.map((r) => r.event.codeId),
        [first.id, first.id, first.id, second.id],
      );
      assert.equal(new Set(receiver.received.slice(0, 3).map((r) => r.body)).size, 1, 'every attempt carries the same body');
      assert.ok((await deliveries(endpoint.id)).every((d) => d.entry.status === 'delivered'));
      const endpointNow = (await admin(server.url, 'GET', `/v1/admin/webhooks/${endpoint.id}`)).body.endpoint;
      assert.equal(endpointNow.failureStreak, 0);

      server.clock.advance(10 * SECOND); // past the 5 s for which /metrics keeps database figures
      const metrics = await call(server.url, 'GET', '/metrics');
      assert.match(metrics.text, /licensor_outbox_attempts_total\{kind="webhook",result="retry"\} [2-9]/);
      assert.match(metrics.text, /licensor_outbox_attempts_total\{kind="webhook",result="delivered"\} [1-9]/);
      assert.match(metrics.text, /licensor_outbox_entries\{kind="webhook",status="delivered"\} [1-9]/);
    });

    it('sends a delivery again on request, with the same event id and body', async () => {
      const { endpoint } = await register(['code.issued']);
      await issue();
      await drain();
      const [delivered] = await deliveries(endpoint.id);
      const again = await admin(server.url, 'POST', `/v1/admin/webhooks/${endpoint.id}/deliveries/${delivered!.entry.id}/resend`);
      assert.equal(again.status, 201, again.text);
      assert.equal(again.body.entry.status, 'pending');
      await drain();
      assert.equal(receiver.received.length, 2);
      assert.equal(receiver.received[0]!.body, receiver.received[1]!.body);
      const trail = await admin(server.url, 'GET', `/v1/admin/audit?action=webhook.delivery_resent&limit=100`);
      assert.ok(trail.body.items.some((e: { entityId: string }) => e.entityId === endpoint.id));
      // A pending delivery is on its way already.
      receiver.script.push(500);
      await issue();
      await drain();
      const [pending] = await deliveries(endpoint.id);
      assert.equal(pending!.entry.status, 'pending');
      const refused = await admin(server.url, 'POST', `/v1/admin/webhooks/${endpoint.id}/deliveries/${pending!.entry.id}/resend`);
      assert.equal(refused.status, 409);
      assert.equal(refused.body.error.code, 'webhook_delivery_pending');
      server.clock.advance(HOUR);
      await drain();
    });

    it('keeps attempts as long as delivered entries (LICENSOR_OUTBOX_KEEP_DAYS), then deletes them', async () => {
      const { endpoint } = await register(['code.issued']);
      await issue();
      await drain();
      const knex = server.running.runtime.database.knex;
      const attempts = async () => Number((await knex('webhook_attempts').where({ endpoint_id: endpoint.id }).count({ n: '*' }).first())!.n);
      assert.equal(await attempts(), 1);
      server.clock.advance(31 * DAY);
      await issue();
      await drain();
      assert.equal(await attempts(), 1, 'the old attempt went, the new one is kept');
      assert.equal((await deliveries(endpoint.id)).length, 1);
    });

    it('switches an endpoint off after failing too long, says so, and sends again once it is on', async () => {
      const { endpoint } = await register(['code.issued']);
      receiver.script.push(...Array<number>(30).fill(503));
      await issue();
      await issue();
      for (let i = 0; i < 30; i++) {
        await drain();
        const shown = (await admin(server.url, 'GET', `/v1/admin/webhooks/${endpoint.id}`)).body.endpoint;
        if (!shown.enabled) break;
        server.clock.advance(HOUR);
      }
      const off = (await admin(server.url, 'GET', `/v1/admin/webhooks/${endpoint.id}`)).body.endpoint;
      assert.equal(off.enabled, false);
      assert.match(off.disabledReason, /failed deliveries in a row since .*; last: HTTP 503/);
      assert.ok(off.failureStreak >= 10);
      assert.ok(server.logLines.some((l) => l.includes('webhook endpoint switched off')));
      server.clock.advance(10 * SECOND); // past the 5 s for which /metrics keeps database figures
      assert.match((await call(server.url, 'GET', '/metrics')).text, /licensor_webhook_endpoints\{state="off"\} 1/);
      const trail = await admin(server.url, 'GET', `/v1/admin/audit?action=webhook.disabled&limit=100`);
      assert.ok(trail.body.items.some((e: { entityId: string; actor: string }) => e.entityId === endpoint.id && e.actor === 'outbox'));
      // What it still had pending is given up at its next attempt; nothing new is owed to it.
      await issue();
      server.clock.advance(HOUR);
      await drain();
      const given = await deliveries(endpoint.id);
      assert.equal(given.length, 2);
      assert.ok(
        given.every((d) => d.entry.status === 'failed'),
        JSON.stringify(given.map((d) => d.entry.status)),
      );

      const whileOff = await admin(server.url, 'POST', `/v1/admin/webhooks/${endpoint.id}/deliveries/${given[0]!.entry.id}/resend`);
      assert.equal(whileOff.status, 409);
      assert.equal(whileOff.body.error.code, 'webhook_disabled');
      receiver.script.length = 0;
      const on = await admin(server.url, 'PATCH', `/v1/admin/webhooks/${endpoint.id}`, { enabled: true });
      assert.equal(on.body.endpoint.enabled, true);
      assert.equal(on.body.endpoint.failureStreak, 0);
      const before = receiver.received.length;
      for (const d of given.reverse()) await admin(server.url, 'POST', `/v1/admin/webhooks/${endpoint.id}/deliveries/${d.entry.id}/resend`);
      await issue();
      await drain();
      assert.equal(receiver.received.length - before, 3);
      assert.deepEqual(
        receiver.received.slice(before).map((r) => r.event.type),
        ['code.issued', 'code.issued', 'code.issued'],
      );
    });
  });

  describe('the CLI', () => {
    const cli = (argv: string[], extra: Record<string, string> = {}) => runCli(argv, cliEnv(server.db, { LICENSOR_WEBHOOKS_ALLOW_PRIVATE: 'true', ...extra }));

    it('adds an endpoint (its secret printed once), switches it off and on, lists its deliveries and sends one again', async () => {
      const added = await cli(['webhooks', 'add', receiver.url, '--events', 'code.issued, code.frozen', '--description', 'from the CLI', '--json']);
      assert.equal(added.code, 0, added.err);
      const { endpoint, secret } = added.json;
      assert.deepEqual(endpoint.events, ['code.issued', 'code.frozen']);
      assert.match(secret, /^whsec_/);
      const shown = await cli(['webhooks', 'show', endpoint.id]);
      assert.match(shown.out, /on {2}http:\/\/127\.0\.0\.1/);
      assert.ok(!shown.out.includes(secret));
      assert.equal((await cli(['webhooks', 'disable', endpoint.id, '--json'])).json.endpoint.enabled, false);
      await seenByServer();
      await issue(); // not owed to an endpoint that is off
      assert.equal((await cli(['webhooks', 'enable', endpoint.id, '--json'])).json.endpoint.enabled, true);
      await seenByServer();
      await issue();
      await drain();
      assert.equal(receiver.received.length, 1);
      assert.ok(receiverVerifies(secret, receiver.received[0]!, nowSeconds()));
      const listed = await cli(['webhooks', 'deliveries', endpoint.id]);
      assert.match(listed.out, /code\.issued +delivered +0 +HTTP 200/);
      const [delivery] = (await cli(['webhooks', 'deliveries', endpoint.id, '--json'])).json.items;
      assert.equal((await cli(['webhooks', 'resend', endpoint.id, delivery.entry.id])).code, 0);
      server.clock.advance(MINUTE); // the CLI owes it on the system clock, ahead of the server's test clock
      await drain();
      assert.equal(receiver.received.length, 2);
      assert.match((await cli(['webhooks', 'list'])).out, new RegExp(`${endpoint.id} +on`));
      const rotated = await cli(['webhooks', 'rotate-secret', endpoint.id]);
      assert.match(rotated.out, /secret {6}whsec_\S+ {2}\(shown this once/);
      assert.ok(!rotated.out.includes(secret));
      assert.equal((await cli(['webhooks', 'remove', endpoint.id])).code, 0);
      assert.equal((await cli(['webhooks', 'show', endpoint.id])).code, 1);
    });

    it('refuses bad usage and bad input with exit 2 or its error code', async () => {
      for (const [argv, message] of [
        [['webhooks', 'bogus'], /unknown webhooks command "bogus"/],
        [['webhooks', 'add'], /webhooks add takes exactly one argument/],
        [['webhooks', 'resend', 'x'], /webhooks resend takes exactly two arguments/],
        [['webhooks', 'add', receiver.url], /events/],
      ] as Array<[string[], RegExp]>) {
        const run = await cli(argv);
        assert.equal(run.code, 2, `${argv.join(' ')}: ${run.out} ${run.err}`);
        assert.match(run.err + run.out, message);
      }
      const strict = await runCli(['webhooks', 'add', receiver.url, '--events', '*'], cliEnv(server.db));
      assert.notEqual(strict.code, 0);
      assert.match(strict.err, /webhook_url_refused/);
    });
  });

  describe('where deliveries may go', () => {
    it('refuses loopback, link-local and private addresses unless allowed', async () => {
      const guard = webhookUrlGuard(false);
      for (const url of [
        'http://127.0.0.1:9/x',
        'http://localhost:9/x',
        'http://[::1]/x',
        'http://169.254.169.254/latest',
        'http://10.1.2.3/',
        'http://192.168.1.1/',
        'http://172.20.0.1/',
        'http://[fe80::1]/',
        'http://[::ffff:127.0.0.1]/',
        'http://0.0.0.0/',
      ]) {
        await assert.rejects(guard.check(url), (err: { code?: string }) => err.code === 'webhook_url_refused', url);
      }
      await guard.check('https://93.184.216.34/hooks');
      await webhookUrlGuard(true).check('http://127.0.0.1:9/x');
      await assert.rejects(guard.check('http://no-such-host.invalid/'), (err: { code?: string }) => err.code === 'webhook_url_unresolvable');
    });

    it('checks the address again when it delivers: a name that now resolves to loopback is not called', async () => {
      // Registered while the name looked public (a resolver that said so), delivered by a server that allows no private address.
      const strict = await startTestServer(engine, { LICENSOR_OUTBOX_POLL_MS: '60000' });
      try {
        const { ctx } = strict.running.runtime;
        const lookedPublic = { check: async () => undefined };
        const endpoint = await registerWebhook(ctx, { url: receiver.url.replace('127.0.0.1', 'localhost'), events: ['*'] }, 'test', lookedPublic);
        const refused = await admin(strict.url, 'POST', '/v1/admin/webhooks', { url: receiver.url, events: ['*'] });
        assert.equal(refused.status, 400, refused.text);
        assert.equal(refused.body.error.code, 'webhook_url_refused');
        await admin(strict.url, 'POST', '/v1/admin/products', { name: 'strict' });
        await strict.running.outbox.drain();
        assert.equal(receiver.received.length, 0);
        // Its own webhook.created first: the product's waits behind it.
        const attempt = (await admin(strict.url, 'GET', `/v1/admin/webhooks/${endpoint.id}/deliveries`)).body.items.at(-1);
        assert.equal(attempt.eventType, 'webhook.created');
        assert.match(attempt.lastAttempt.error, /refused: localhost resolves to (127\.0\.0\.1|::1), a private address/);
      } finally {
        await strict.close();
      }
    });
  });
});

describe('the webhook event types', () => {
  it('name every action licensor audits, so that an endpoint can ask for each', () => {
    // Every quoted `<entity>.<verb>` in the domain and storage sources: the audit actions (and the sweeper's SQL ones).
    const root = join(__dirname, '..', '..', 'src');
    const sources = ['domain', 'domain/marketplace', 'storage', 'storage/marketplace'].flatMap((dir) =>
      readdirSync(join(root, dir))
        .filter((f) => f.endsWith('.ts'))
        .map((f) => readFileSync(join(root, dir, f), 'utf8')),
    );
    const actions = new Set(
      sources.flatMap((text) => [...text.matchAll(/'((?:product|code|activation|key|outbox|webhook|admin_token)\.[a-z_]+)'/g)].map((m) => m[1]!)),
    );
    assert.ok(actions.size >= 30, `only ${actions.size} actions found`);
    const missing = [...actions].filter((a) => !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(a));
    assert.deepEqual(missing, [], 'add them to WEBHOOK_EVENT_TYPES (src/domain/webhooks.ts) and docs/webhooks.md');
  });
});
