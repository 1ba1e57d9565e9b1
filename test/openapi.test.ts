import { strict as assert } from 'node:assert';
import { DASHBOARD_CSP } from '../src/http/routes/dashboard';
import { documentedRoutes } from '../src/http/openapi/document';
import { openApiPath, routePatternMatcher, type RouteDoc } from '../src/http/openapi/registry';
import { listServedRoutes } from '../src/http/openapi/served-routes';
import { owedCall } from '../src/domain/outbox';
import { registerWebhook, WEBHOOK_KIND, webhookTarget } from '../src/domain/webhooks';
import { errorBodySchema } from '../src/http/response-schemas';
import { compact, marketplaceEnv, mkpId, produce } from './support/marketplace';
import { machine } from './support/factories';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/harness';
import { call, type Answer } from './support/http';

const MKP_PRODUCT = 'mkp-openapi';

/** The validator is an ES module; this suite is compiled to CommonJS. */
async function validateOpenApi(document: unknown): Promise<{ valid: boolean; errors?: unknown }> {
  type ValidatorModule = { Validator: new () => { validate(spec: object): Promise<{ valid: boolean; errors?: unknown }> } };
  const { Validator } = (await import('@seriousme/openapi-schema-validator')) as ValidatorModule;
  return new Validator().validate(document as object);
}

const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

function documentedKeys(document: any): string[] {
  return Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) => Object.keys(item).map((m) => routeKey(m, path)));
}

describe('the OpenAPI document', () => {
  let server: TestServer;
  let document: any;

  before(async () => {
    server = await startTestServer(
      'sqlite',
      marketplaceEnv(MKP_PRODUCT, { LICENSOR_MARKETPLACE_PATH: '/koogallery/produce', LICENSOR_OPENAPI_ALLOW_UNSIGNED: 'true' }),
    );
    const res = await call(server.url, 'GET', '/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    document = res.body;
  });
  after(() => server.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    assert.equal(document.openapi, '3.1.0');
    const result = await validateOpenApi(document);
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
  });

  it('documents every route the server answers, and the server answers every route it documents', () => {
    const served = listServedRoutes(server.running.app).map((r) => routeKey(r.method, openApiPath(r.path)));
    const documented = documentedKeys(document);
    assert.ok(served.length >= 30, `only ${served.length} routes found in the router stack`);
    const undocumented = served.filter((k) => !documented.includes(k));
    const unserved = documented.filter((k) => !served.includes(k));
    assert.deepEqual(
      undocumented,
      [],
      `served but not documented — declare them beside their handlers (src/http/openapi/registry.ts): ${undocumented.join(', ')}`,
    );
    assert.deepEqual(unserved, [], `documented but not served: ${unserved.join(', ')}`);
    assert.equal(new Set(served).size, served.length, 'a route is registered twice');
  });

  it("describes the production signature as the hex HMAC the server checks, and queryInstance's answer as licensor's own", () => {
    const operation = document.paths['/koogallery/produce'].post;
    const signature = operation.parameters.find((p: { name: string; in: string }) => p.name === 'signature' && p.in === 'query');
    assert.match(
      signature.description,
      /^hex\(HMAC-SHA256\(accessKey, accessKey \+ nonce \+ timestamp \+ lower\(hex\(HMAC-SHA256\(accessKey, body\)\)\)\)\), over the raw body bytes/,
    );
    assert.doesNotMatch(signature.description, /base64/);
    assert.match(operation.description, /queryInstance answer is licensor's own shape/);
    const answer = JSON.stringify(operation.responses['200']);
    assert.match(answer, /queryInstance: licensor's own shape/);
  });

  it('documents the production interface at the configured path', () => {
    assert.ok(document.paths['/koogallery/produce']?.post, Object.keys(document.paths).join(', '));
    assert.equal(document.paths['/produce'], undefined);
  });

  it('says which operations need which credentials', () => {
    assert.deepEqual(document.paths['/v1/admin/codes'].post.security, [{ adminToken: [] }]);
    assert.deepEqual(document.paths['/v1/activations/{id}'].delete.security, [{ leaseToken: [] }]);
    assert.equal(document.paths['/v1/heartbeat'].post.security, undefined);
    assert.ok(document.components.securitySchemes.adminToken);
  });

  it('refers every refusal to the one error body', () => {
    const refusal = document.paths['/v1/activations'].post.responses['409'];
    assert.deepEqual(refusal.content['application/json'].schema, { $ref: '#/components/schemas/Error' });
    assert.deepEqual(document.components.schemas.Error.required, ['error']);
    assert.deepEqual(document.components.schemas.Error.properties.error.required, ['code', 'message']);
  });

  describe('generated from the schemas that validate requests', () => {
    it("holds the server to the document's limits: the documented maximum of seats is accepted, one more is refused", async () => {
      const seats = document.paths['/v1/admin/codes'].post.requestBody.content['application/json'].schema.properties.seats;
      assert.equal(seats.type, 'integer');
      const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
      await call(server.url, 'POST', '/v1/admin/products', { name: 'limits' }, auth);
      const atMost = await call(server.url, 'POST', '/v1/admin/codes', { product: 'limits', seats: seats.maximum, days: 1 }, auth);
      assert.equal(atMost.status, 201, atMost.text);
      const over = await call(server.url, 'POST', '/v1/admin/codes', { product: 'limits', seats: seats.maximum + 1, days: 1 }, auth);
      assert.equal(over.status, 400);
      assert.equal(over.body.error.details.issues[0].path, 'body.seats');
    });

    it('marks the fields the server requires as required', async () => {
      const body = document.paths['/v1/activations'].post.requestBody.content['application/json'].schema;
      assert.deepEqual(body.required, ['code', 'fingerprint']);
      const missing = await call(server.url, 'POST', '/v1/activations', { fingerprint: machine('m') });
      assert.equal(missing.status, 400);
      assert.equal(missing.body.error.details.issues[0].path, 'body.code');
    });

    it('describes query parameters one by one, with their defaults', () => {
      const limit = document.paths['/v1/admin/codes'].get.parameters.find((p: any) => p.name === 'limit');
      assert.deepEqual({ in: limit.in, required: limit.required, default: limit.schema.default }, { in: 'query', required: false, default: 50 });
    });
  });

  describe("every documented route's answers", () => {
    /**
     * Each answer is checked against the schema its route declares for that status; answer
     * objects are strict there, so a field added to a view without being documented fails here.
     * Every documented operation must be exercised at least once.
     */
    const exercised = new Set<string>();
    let routes: RouteDoc[];
    let patternOf: (method: string, path: string) => string | undefined;

    before(() => {
      routes = documentedRoutes(server.running.runtime.config);
      patternOf = routePatternMatcher(routes);
    });

    function conform(method: string, path: string, answer: { status: number; body: unknown; text?: string }) {
      const pattern = patternOf(method, path.split('?')[0]!);
      assert.ok(pattern, `${method} ${path} matches no documented route`);
      const route = routes.find((r) => r.method === method.toLowerCase() && r.path === pattern)!;
      const documented = route.responses[answer.status];
      assert.ok(documented, `${method} ${pattern} answered ${answer.status}, which it does not document: ${answer.text ?? JSON.stringify(answer.body)}`);
      if (documented.schema) {
        const parsed = documented.schema.safeParse(answer.body);
        assert.ok(
          parsed.success,
          `${method} ${pattern} ${answer.status} does not match its documented schema: ${parsed.error?.message}\n${JSON.stringify(answer.body)}`,
        );
      }
      exercised.add(routeKey(method, pattern));
    }

    async function checked(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
      const answer = await call(server.url, method, path, body, headers);
      conform(method, path, answer);
      return answer;
    }
    const asAdmin = (method: string, path: string, body?: unknown) => checked(method, path, body, { authorization: `Bearer ${ADMIN_TOKEN}` });

    it('match the documented shapes, through a whole run', async () => {
      await checked('GET', '/healthz');
      await checked('GET', '/readyz');
      await checked('GET', '/openapi.json');
      await checked('GET', '/metrics');
      await checked('GET', '/.well-known/jwks.json');
      await checked('GET', '/v1/jwks');

      await asAdmin('POST', '/v1/admin/products', { name: 'shapes', seatMode: 'floating' });
      await asAdmin('POST', '/v1/admin/products', { name: MKP_PRODUCT });
      await asAdmin('GET', '/v1/admin/products');
      await asAdmin('GET', '/v1/admin/products/shapes');
      await asAdmin('POST', '/v1/admin/products/shapes/versions', { version: '2.1.0' });
      await asAdmin('PATCH', '/v1/admin/products/shapes', { leaseSeconds: 1200, reclaim: 'soft' });
      await asAdmin('PATCH', '/v1/admin/products/shapes', { leaseSeconds: 200 }); // 400 heartbeat_exceeds_lease
      await asAdmin('GET', '/v1/admin/whoami');
      const seller = await asAdmin('POST', '/v1/admin/tokens', { name: 'shapes-seller', scope: 'codes', products: ['shapes'] });
      await asAdmin('GET', '/v1/admin/tokens');
      await checked('POST', '/v1/admin/products/shapes/versions', { version: '2.2.0' }, { authorization: `Bearer ${seller.body.secret}` }); // 403
      await asAdmin('POST', '/v1/admin/tokens/shapes-seller/revoke');
      const issued = await asAdmin('POST', '/v1/admin/codes', { product: 'shapes', seats: 1, days: 30, features: ['pro'], metadata: { order: 7 } });
      const code: string = issued.body.code.code;
      await asAdmin('GET', '/v1/admin/codes?status=issued&limit=5');
      await asAdmin('GET', `/v1/admin/codes/${code}`);

      const activated = await checked('POST', '/v1/activations', { code, fingerprint: machine('a'), environment: { container: 'none' } });
      assert.equal(activated.status, 201);
      const { secret } = (await checked('POST', '/v1/activations', { code, fingerprint: machine('a') })).body.activation;
      await checked('POST', '/v1/activations', { code, fingerprint: machine('b') }); // 409 seat_limit_reached
      const activationId: string = activated.body.activation.id;
      await checked('POST', '/v1/heartbeat', { activationId, secret, fingerprint: machine('a') });
      await asAdmin('GET', `/v1/admin/codes/${code}/activations`);
      await asAdmin('GET', `/v1/admin/activations/${activationId}`);
      await asAdmin('POST', `/v1/admin/codes/${code}/renew`, { days: 10 });
      await asAdmin('POST', `/v1/admin/codes/${code}/freeze`);
      const frozen = await checked('POST', '/v1/heartbeat', { activationId, secret, fingerprint: machine('a') });
      assert.equal(frozen.body.token, null);
      await asAdmin('POST', `/v1/admin/codes/${code}/unfreeze`);
      await checked('DELETE', `/v1/activations/${activationId}`, undefined, { authorization: `Bearer ${activated.body.token}` });
      await checked('POST', '/v1/heartbeat', { activationId, secret, fingerprint: machine('a') }); // 409 activation_ended
      const again = await checked('POST', '/v1/activations', { code, fingerprint: machine('c') });
      await asAdmin('DELETE', `/v1/admin/activations/${again.body.activation.id}`);
      await asAdmin('GET', `/v1/admin/audit?code=${code}&limit=10`);
      await asAdmin('GET', '/v1/admin/keys');
      await asAdmin('POST', '/v1/admin/keys/rotate');
      await asAdmin('GET', '/v1/admin/stats/heartbeats?points=10');

      const base = '/api/mkp-openapi-public/global';
      const other: string = (await asAdmin('POST', '/v1/admin/codes', { product: 'shapes', seats: 2, days: 30 })).body.code.code;
      await checked('POST', `${base}/v1/license/activate`, { license: other });
      await checked('POST', `${base}/v2/license/activate`, { license_list: [other, 'NOT-A-CODE'] });
      await checked('POST', `${base}/v1/license/heartbeat`, { license: other });
      await checked('POST', `${base}/v2/license/heartbeat`, { license_list: [other, 'NOT-A-CODE'] });
      await checked('POST', `${base}/v2/license/software-usage-info`, {
        usage_info: [{ license: other, software_usage_Info: [{ id: 'client-1' }, { active_num: 3 }] }],
      });
      await checked('POST', `${base}/v1/license/activate`, { license_list: 'wrong' }); // 400 92020002
      await asAdmin('GET', `/v1/admin/usage?code=${other}`);

      const now = server.clock.now();
      const businessId = mkpId('B');
      const orderId = mkpId('O');
      const path = '/koogallery/produce';
      const created = await produce(server.url, { activity: 'newInstance', orderId, orderLineId: `${orderId}-1`, businessId }, { now, path });
      conform('POST', path, created);
      const instanceId: string = created.body.instanceId;
      const license = await produce(server.url, { activity: 'getLicenseAsync', instanceId, effectiveTime: compact(now), eventId: mkpId('E') }, { now, path });
      conform('POST', path, license);
      assert.equal(license.body.resultCode, '000000');
      conform('POST', path, await produce(server.url, { activity: 'queryInstance', instanceId }, { now, path }));
      conform('POST', path, await produce(server.url, { activity: 'queryInstance', instanceId }, { now, path, signature: 'wrong' }));
      conform(
        'POST',
        path,
        await produce(server.url, { activity: 'upgradeInstance', instanceId, orderId: mkpId('U'), orderLineId: 'U-1', amount: 3 }, { now, path }),
      );
      await asAdmin('GET', '/v1/admin/marketplace/instances?limit=5');
      await asAdmin('GET', '/v1/admin/marketplace/licenses');
      await asAdmin('POST', '/v1/admin/marketplace/codes/import', { file: 'code,expires\nPLOPENAPI0001,20300101000000\nno expiry here', product: 'shapes' }); // 400
      await asAdmin('POST', '/v1/admin/marketplace/codes/import', { file: 'PLOPENAPI0001,20300101000000,2\n', product: 'shapes', test: true });

      // An entry the outbox gave up, as an operator sees it and tries it again.
      const { ctx } = server.running.runtime;
      const givenUp = {
        ...owedCall(ctx, now, { kind: 'test.openapi', target: 'openapi', payload: { n: 1 } }),
        status: 'failed' as const,
        attempts: 3,
        lastError: 'refused',
      };
      await ctx.repo.outbox.enqueue(givenUp);
      await asAdmin('GET', '/v1/admin/outbox?status=failed&limit=5');
      await asAdmin('GET', '/v1/admin/outbox/summary');
      await asAdmin('GET', `/v1/admin/outbox/${givenUp.id}`);
      await asAdmin('POST', `/v1/admin/outbox/${givenUp.id}/retry`);
      await asAdmin('POST', `/v1/admin/outbox/${givenUp.id}/retry`); // 409: pending now
      await asAdmin('GET', '/v1/admin/outbox/no-such-entry'); // 404

      // Webhooks: one refused for its address, one registered (as if its name had resolved to a public address), a delivery given up and sent again.
      await asAdmin('POST', '/v1/admin/webhooks', { url: 'http://127.0.0.1:9/hooks', events: ['*'] }); // 400
      const hook = await registerWebhook(ctx, { url: 'http://hooks.invalid/in', events: ['code.*'] }, 'test', { check: async () => undefined });
      await asAdmin('GET', '/v1/admin/webhooks');
      await asAdmin('GET', '/v1/admin/webhooks/event-types');
      await asAdmin('GET', `/v1/admin/webhooks/${hook.id}`);
      await asAdmin('PATCH', `/v1/admin/webhooks/${hook.id}`, { description: 'documented', enabled: false });
      await asAdmin('POST', `/v1/admin/webhooks/${hook.id}/secret`);
      const hookFailed = {
        ...owedCall(ctx, now, { kind: WEBHOOK_KIND, target: webhookTarget(hook.id), payload: { eventId: 'e', type: 'code.issued' } }),
        status: 'failed' as const,
      };
      await ctx.repo.outbox.enqueue(hookFailed);
      await asAdmin('GET', `/v1/admin/webhooks/${hook.id}/deliveries?limit=5`);
      await asAdmin('POST', `/v1/admin/webhooks/${hook.id}/deliveries/${hookFailed.id}/resend`); // 409: the endpoint is off
      await asAdmin('PATCH', `/v1/admin/webhooks/${hook.id}`, { enabled: true });
      await asAdmin('POST', `/v1/admin/webhooks/${hook.id}/deliveries/${hookFailed.id}/resend`);
      await asAdmin('DELETE', `/v1/admin/webhooks/${hook.id}`);
      await asAdmin('DELETE', `/v1/admin/webhooks/${hook.id}`); // 404

      await asAdmin('POST', `/v1/admin/codes/${code}/release`);
      await checked('GET', '/v1/admin/codes'); // 401 without the token
      await asAdmin('GET', '/v1/admin/codes/ABCDE-FGHJK-MNPQR-STVWX-YZ234'); // 404
    });

    it('were each exercised by the run above', () => {
      const documented = routes.map((r) => routeKey(r.method, r.path));
      const missing = documented.filter((k) => !exercised.has(k));
      assert.deepEqual(missing, [], `add a call for each to the run above, so its answers are checked against its declaration: ${missing.join(', ')}`);
    });

    it('refuse with the one error body everywhere outside the marketplace', async () => {
      const unknown = await call(server.url, 'GET', '/no/such/route');
      assert.equal(unknown.status, 404);
      assert.ok(errorBodySchema.safeParse(unknown.body).success, unknown.text);
    });
  });

  describe('the docs page', () => {
    it('is served at /docs under the same strict content policy as the dashboard', async () => {
      const page = await call(server.url, 'GET', '/docs/');
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(page.headers.get('content-security-policy'), DASHBOARD_CSP);
      assert.equal(page.headers.get('x-frame-options'), 'DENY');
      assert.match(page.text, /<script type="module" src="docs.js"><\/script>/);
    });

    it('loads nothing from another origin and renders the document with its own script', async () => {
      for (const asset of ['/docs/', '/docs/docs.js', '/docs/docs.css']) {
        const res = await call(server.url, 'GET', asset);
        assert.equal(res.status, 200, asset);
        assert.doesNotMatch(res.text, /(src|href)\s*=\s*["']?(https?:)?\/\//i, `${asset} refers to another origin`);
        assert.doesNotMatch(
          res.text,
          /<script>|style=|innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/,
          `${asset} uses inline code or HTML injection`,
        );
      }
      const script = await call(server.url, 'GET', '/docs/docs.js');
      assert.match(script.text, /fetch\('\.\.\/openapi\.json'\)/);
    });

    it('redirects /docs to /docs/ so its relative links work behind a path prefix', async () => {
      const res = await fetch(server.url + '/docs', { redirect: 'manual' });
      assert.equal(res.status, 301);
      assert.equal(res.headers.get('location'), '/docs/');
    });
  });
});
