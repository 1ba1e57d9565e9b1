import { strict as assert } from 'node:assert';
import { ADMIN_SCOPES, type AdminScope } from '../src/domain/types';
import { ADMIN_ROUTE_SCOPES, scopeNeeded } from '../src/http/admin-scopes';
import { createApp } from '../src/http/app';
import { listServedRoutes } from '../src/http/openapi/served-routes';
import { MINUTE } from './support/clock';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { ADMIN_TOKEN, captureLogger, startTestServer, type TestServer } from './support/harness';
import { admin, call, type Answer } from './support/http';
import { assertRefusal } from './support/refusals';

/** A path for each route pattern that reaches its handler when the caller is allowed in. */
function concrete(pattern: string): string {
  return pattern.replace(':code', 'ABCDE-FGHJK-MNPQR-STVWX-YZ234').replace(':id', '00000000-0000-0000-0000-000000000000').replace(':name', 'no-such-name');
}

forEachEngine('scoped admin tokens', (engine) => {
  let server: TestServer;
  let seq = 0;
  const tokens: Partial<Record<AdminScope, string>> = {};

  before(async () => {
    server = await startTestServer(engine);
    for (const product of ['alpha', 'beta']) assert.equal((await admin(server.url, 'POST', '/v1/admin/products', { name: product })).status, 201);
    tokens.read = await create({ name: 'auditor', scope: 'read' });
    tokens.codes = await create({ name: 'alpha-sales', scope: 'codes', products: ['alpha'] });
    tokens.full = await create({ name: 'deputy', scope: 'full' });
  });
  after(async () => server?.close());

  async function create(body: Record<string, unknown>): Promise<string> {
    const res = await admin(server.url, 'POST', '/v1/admin/tokens', body);
    assert.equal(res.status, 201, res.text);
    return res.body.secret;
  }

  const as = (token: string, method: string, path: string, body?: unknown): Promise<Answer> =>
    call(server.url, method, path, body, { authorization: `Bearer ${token}` });

  async function issue(product: string): Promise<string> {
    const res = await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 2, days: 30 });
    assert.equal(res.status, 201, res.text);
    return res.body.code.code;
  }

  describe('creating, listing and revoking', () => {
    it('shows a token once, prefixed, and lists it without the token or its digest', async () => {
      const res = await admin(server.url, 'POST', '/v1/admin/tokens', { name: `shown-once-${engine}`, scope: 'read' });
      assert.equal(res.status, 201, res.text);
      assert.match(res.body.secret, /^lsr_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(
        { ...res.body.token, id: undefined, createdAt: undefined },
        { id: undefined, name: `shown-once-${engine}`, scope: 'read', products: null, createdAt: undefined, revokedAt: null, lastUsedAt: null },
      );
      const list = await admin(server.url, 'GET', '/v1/admin/tokens');
      assert.ok(list.body.items.some((t: any) => t.name === `shown-once-${engine}`));
      assert.ok(!list.text.includes(res.body.secret));
      const stored = await server.running.runtime.database
        .knex('admin_tokens')
        .where({ name: `shown-once-${engine}` })
        .first();
      assert.notEqual(stored.token_hash, res.body.secret);
      assert.match(stored.token_hash, /^[0-9a-f]{64}$/);
    });

    it('refuses a duplicate name, a codes token without products or with an unknown one, and products on another scope', async () => {
      assertRefusal(await admin(server.url, 'POST', '/v1/admin/tokens', { name: 'auditor', scope: 'read' }), 409, 'token_exists');
      assertRefusal(await admin(server.url, 'POST', '/v1/admin/tokens', { name: `no-products-${engine}`, scope: 'codes' }), 400, 'token_products_required');
      assertRefusal(
        await admin(server.url, 'POST', '/v1/admin/tokens', { name: `unknown-${engine}`, scope: 'codes', products: ['gamma'] }),
        404,
        'product_not_found',
      );
      assertRefusal(
        await admin(server.url, 'POST', '/v1/admin/tokens', { name: `stray-${engine}`, scope: 'read', products: ['alpha'] }),
        400,
        'token_products_unexpected',
      );
      for (const body of [
        { name: 'x', scope: 'admin' },
        { name: '', scope: 'read' },
        { name: 'a b', scope: 'read' },
        { name: 'ok', scope: 'read', extra: 1 },
      ]) {
        assertRefusal(await admin(server.url, 'POST', '/v1/admin/tokens', body), 400, 'invalid_request');
      }
    });

    it('stops a revoked token at once, keeps it listed as revoked, and revoking again changes nothing', async () => {
      const name = `short-lived-${engine}`;
      const token = await create({ name, scope: 'full' });
      assert.equal((await as(token, 'GET', '/v1/admin/products')).status, 200);
      const revoked = await admin(server.url, 'POST', `/v1/admin/tokens/${name}/revoke`);
      assert.equal(revoked.status, 200, revoked.text);
      assert.equal(revoked.body.changed, true);
      assertRefusal(await as(token, 'GET', '/v1/admin/products'), 401, 'admin_token_required');
      assert.equal((await admin(server.url, 'POST', `/v1/admin/tokens/${name}/revoke`)).body.changed, false);
      assertRefusal(await admin(server.url, 'POST', '/v1/admin/tokens/never-made/revoke'), 404, 'token_not_found');
      const listed = (await admin(server.url, 'GET', '/v1/admin/tokens')).body.items.find((t: any) => t.name === name);
      assert.equal(listed.revokedAt, revoked.body.token.revokedAt);
    });

    it('audits creation and revocation with the actor who did them', async () => {
      const name = `audited-${engine}`;
      await as(tokens.full!, 'POST', '/v1/admin/tokens', { name, scope: 'read' });
      await admin(server.url, 'POST', `/v1/admin/tokens/${name}/revoke`);
      const id = (await admin(server.url, 'GET', '/v1/admin/tokens')).body.items.find((t: any) => t.name === name).id;
      const events = (await admin(server.url, 'GET', `/v1/admin/audit?entity=${id}`)).body.items;
      assert.deepEqual(
        events.map((e: any) => [e.action, e.actor]),
        [
          ['admin_token.revoked', 'admin-api'],
          ['admin_token.created', 'token:deputy'],
        ],
      );
    });

    it('logs every call with the name of the token that made it, never the token', async () => {
      await as(tokens.read!, 'GET', '/v1/admin/keys');
      const line = server.logLines.map((l) => JSON.parse(l)).find((l) => l.route === '/v1/admin/keys' && l.actor === 'token:auditor');
      assert.ok(line, 'an access-log line names the token');
      assert.ok(!server.logLines.some((l) => Object.values(tokens).some((t) => l.includes(t!))), 'no token in the log');
    });

    it('records when a token was last used, to the minute', async () => {
      const name = `used-${engine}`;
      const token = await create({ name, scope: 'read' });
      const lastUsed = async () => (await admin(server.url, 'GET', '/v1/admin/tokens')).body.items.find((t: any) => t.name === name).lastUsedAt;
      assert.equal(await lastUsed(), null);
      await as(token, 'GET', '/v1/admin/products');
      const first = await lastUsed();
      assert.equal(first, new Date(server.clock.now()).toISOString());
      server.clock.advance(30_000);
      await as(token, 'GET', '/v1/admin/products');
      assert.equal(await lastUsed(), first);
      server.clock.advance(MINUTE);
      await as(token, 'GET', '/v1/admin/products');
      assert.equal(await lastUsed(), new Date(server.clock.now()).toISOString());
    });
  });

  describe('who is calling', () => {
    it('names the token, its scope and products; the bootstrap token has no name and full scope', async () => {
      assert.deepEqual((await as(tokens.codes!, 'GET', '/v1/admin/whoami')).body, {
        name: 'alpha-sales',
        actor: 'token:alpha-sales',
        scope: 'codes',
        products: ['alpha'],
      });
      assert.deepEqual((await admin(server.url, 'GET', '/v1/admin/whoami')).body, { name: null, actor: 'admin-api', scope: 'full', products: null });
    });

    it('writes the token name as the actor of every change made with it', async () => {
      const issued = await as(tokens.codes!, 'POST', '/v1/admin/codes', { product: 'alpha', seats: 1, days: 30 });
      assert.equal(issued.status, 201, issued.text);
      const code = issued.body.code.code;
      assert.equal((await as(tokens.codes!, 'POST', `/v1/admin/codes/${code}/renew`, { days: 5 })).status, 200);
      assert.equal((await as(tokens.full!, 'POST', `/v1/admin/codes/${code}/freeze`)).status, 200);
      const events = (await admin(server.url, 'GET', `/v1/admin/audit?code=${code}`)).body.items;
      assert.deepEqual(
        events.map((e: any) => [e.action, e.actor]),
        [
          ['code.frozen', 'token:deputy'],
          ['code.renewed', 'token:alpha-sales'],
          ['code.issued', 'token:alpha-sales'],
        ],
      );
    });
  });

  describe('scopes', () => {
    it('lets a read token read and refuses every change with 403 token_scope_insufficient, changing nothing', async () => {
      const code = await issue('alpha');
      for (const path of [
        '/v1/admin/products',
        `/v1/admin/codes/${code}`,
        '/v1/admin/audit',
        '/v1/admin/keys',
        '/v1/admin/outbox/summary',
        '/v1/admin/stats/heartbeats',
      ]) {
        assert.equal((await as(tokens.read!, 'GET', path)).status, 200, path);
      }
      const refused = await as(tokens.read!, 'POST', `/v1/admin/codes/${code}/freeze`);
      assertRefusal(refused, 403, 'token_scope_insufficient');
      assert.deepEqual(refused.body.error.details, { scope: 'read', needed: 'full' });
      assertRefusal(await as(tokens.read!, 'POST', '/v1/admin/codes', { product: 'alpha', seats: 1, days: 1 }), 403, 'token_scope_insufficient');
      assertRefusal(await as(tokens.read!, 'POST', '/v1/admin/tokens', { name: 'escalate', scope: 'full' }), 403, 'token_scope_insufficient');
      assert.equal((await admin(server.url, 'GET', `/v1/admin/codes/${code}`)).body.code.status, 'issued');
    });

    it('lets a codes token issue and renew codes of its products only, and nothing beyond', async () => {
      const alpha = await issue('alpha');
      const beta = await issue('beta');
      assert.equal((await as(tokens.codes!, 'POST', `/v1/admin/codes/${alpha}/renew`, { days: 1 })).status, 200);
      assertRefusal(await as(tokens.codes!, 'POST', `/v1/admin/codes/${beta}/renew`, { days: 1 }), 403, 'token_scope_insufficient');
      assertRefusal(await as(tokens.codes!, 'POST', '/v1/admin/codes', { product: 'beta', seats: 1, days: 1 }), 403, 'token_scope_insufficient');
      assertRefusal(await as(tokens.codes!, 'POST', `/v1/admin/codes/${alpha}/release`), 403, 'token_scope_insufficient');
      assertRefusal(await as(tokens.codes!, 'PATCH', '/v1/admin/products/alpha', { reclaim: 'soft' }), 403, 'token_scope_insufficient');
      assert.equal((await as(tokens.codes!, 'GET', `/v1/admin/codes/${beta}`)).status, 200, 'reads reach every product');
      // A code that does not exist is not found, not forbidden: the product check needs the code.
      assertRefusal(await as(tokens.codes!, 'POST', '/v1/admin/codes/ABCDE-FGHJK-MNPQR-STVWX-YZ234/renew', { days: 1 }), 404, 'code_not_found');
    });

    it('lets a full token do what the bootstrap token does', async () => {
      const code = await issue('beta');
      const activated = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine(`full-${engine}-${++seq}`) });
      assert.equal((await as(tokens.full!, 'DELETE', `/v1/admin/activations/${activated.body.activation.id}`)).status, 200);
      assert.equal((await as(tokens.full!, 'PATCH', '/v1/admin/products/beta', { reclaim: 'soft' })).status, 200);
      assert.equal((await as(tokens.full!, 'POST', '/v1/admin/keys/rotate')).status, 201);
    });

    it('answers every admin route, for every scope, as its table entry says: allowed or 403, never a 5xx', async () => {
      const { runtime } = server.running;
      const app = createApp(runtime, { adminToken: ADMIN_TOKEN, logger: captureLogger().logger });
      for (const { method, path } of listServedRoutes(app).filter((r) => r.path.startsWith('/v1/admin'))) {
        const needed = ADMIN_ROUTE_SCOPES[`${method.toUpperCase()} ${path}`]!;
        for (const scope of ADMIN_SCOPES) {
          const body = method === 'get' || method === 'delete' ? undefined : {};
          const res = await as(tokens[scope]!, method.toUpperCase(), concrete(path), body);
          assert.ok(res.status < 500, `${method} ${path} as ${scope}: ${res.status} ${res.text}`);
          const allowed = ADMIN_SCOPES.indexOf(scope) >= ADMIN_SCOPES.indexOf(needed);
          if (allowed) assert.notEqual(res.body?.error?.code, 'token_scope_insufficient', `${method} ${path} as ${scope}`);
          else assertRefusal(res, 403, 'token_scope_insufficient');
        }
      }
    });
  });
});

describe('the admin scope table', () => {
  it('names every served admin route, and only those', async () => {
    const server = await startTestServer('sqlite');
    try {
      const app = createApp(server.running.runtime, { adminToken: ADMIN_TOKEN, logger: captureLogger().logger });
      const served = listServedRoutes(app)
        .filter((r) => r.path.startsWith('/v1/admin'))
        .map((r) => `${r.method.toUpperCase()} ${r.path}`)
        .sort();
      assert.deepEqual(Object.keys(ADMIN_ROUTE_SCOPES).sort(), served, 'every admin route declares its scope in src/http/admin-scopes.ts');
    } finally {
      await server.close();
    }
  });

  it('is in /openapi.json: each admin operation says the scope it needs, and 403 among its answers', async () => {
    const server = await startTestServer('sqlite');
    try {
      const doc = (await call(server.url, 'GET', '/openapi.json')).body;
      const seen: string[] = [];
      for (const [path, operations] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
        for (const [method, op] of Object.entries(operations)) {
          if (!op.security?.some((s: Record<string, unknown>) => 'adminToken' in s)) continue;
          const key = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;
          assert.equal(op['x-licensor-scope'], ADMIN_ROUTE_SCOPES[key], key);
          assert.ok(op.responses['403'], `${key} documents 403`);
          seen.push(key);
        }
      }
      assert.deepEqual(seen.sort(), Object.keys(ADMIN_ROUTE_SCOPES).sort());
    } finally {
      await server.close();
    }
  });

  it('asks full scope of a path no route declares', () => {
    assert.equal(scopeNeeded('GET', '/v1/admin/no/such/thing'), 'full');
    assert.equal(scopeNeeded('GET', '/v1/admin/codes/X/activations'), 'read');
    assert.equal(scopeNeeded('HEAD', '/v1/admin/products'), 'read');
    assert.equal(scopeNeeded('POST', '/v1/admin/codes/X/renew'), 'codes');
  });
});
