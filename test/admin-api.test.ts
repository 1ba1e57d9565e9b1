import { strict as assert } from 'node:assert';
import { DAY, HOUR } from './support/clock';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/harness';
import { admin, call, type Answer } from './support/http';
import { assertRefusal } from './support/refusals';

const CODE_FORMAT = /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$/;

/** Every admin route, with a path that would be valid if the caller were allowed in. */
const ADMIN_ROUTES: Array<[string, string]> = [
  ['GET', '/v1/admin/products'],
  ['POST', '/v1/admin/products'],
  ['GET', '/v1/admin/products/some-product'],
  ['POST', '/v1/admin/codes'],
  ['GET', '/v1/admin/codes'],
  ['GET', '/v1/admin/codes/ABCDE-FGHJK-MNPQR-STVWX-YZ234'],
  ['GET', '/v1/admin/codes/ABCDE-FGHJK-MNPQR-STVWX-YZ234/activations'],
  ['POST', '/v1/admin/codes/ABCDE-FGHJK-MNPQR-STVWX-YZ234/renew'],
  ['POST', '/v1/admin/codes/ABCDE-FGHJK-MNPQR-STVWX-YZ234/freeze'],
  ['POST', '/v1/admin/codes/ABCDE-FGHJK-MNPQR-STVWX-YZ234/unfreeze'],
  ['POST', '/v1/admin/codes/ABCDE-FGHJK-MNPQR-STVWX-YZ234/release'],
  ['GET', '/v1/admin/activations/00000000-0000-0000-0000-000000000000'],
  ['DELETE', '/v1/admin/activations/00000000-0000-0000-0000-000000000000'],
  ['GET', '/v1/admin/audit'],
  ['GET', '/v1/admin/keys'],
  ['POST', '/v1/admin/keys/rotate'],
];

const iso = (ms: number) => new Date(ms).toISOString();

function jwtHeader(token: string): { kid: string; alg: string } {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
}

forEachEngine('the admin API', (engine) => {
  let server: TestServer;
  let seq = 0;

  before(async () => {
    server = await startTestServer(engine);
  });
  after(async () => server?.close());

  const now = () => server.clock.now();
  const get = (path: string) => admin(server.url, 'GET', path);
  const post = (path: string, body?: unknown) => admin(server.url, 'POST', path, body);

  async function newProduct(extra: Record<string, unknown> = {}): Promise<string> {
    const name = `prod-${engine}-${++seq}`;
    const res = await post('/v1/admin/products', { name, ...extra });
    assert.equal(res.status, 201, res.text);
    return name;
  }

  async function issue(product: string, body: Record<string, unknown> = {}): Promise<any> {
    const res = await post('/v1/admin/codes', { product, seats: 1, days: 30, ...body });
    assert.equal(res.status, 201, res.text);
    return res.body.code;
  }

  async function activate(code: string, name = `m-${++seq}`): Promise<Answer> {
    const res = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine(name) });
    assert.equal(res.status, 201, res.text);
    return res;
  }

  /** Walks every page of a list and returns the items in order. */
  async function walk(path: string, limit: number): Promise<{ items: any[]; pages: number }> {
    const items: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const res = await get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(res.status, 200, res.text);
      assert.ok(res.body.items.length <= limit);
      items.push(...res.body.items);
      cursor = res.body.nextCursor;
      pages++;
      assert.ok(pages < 100, 'paging does not end');
    } while (cursor);
    return { items, pages };
  }

  describe('authentication', () => {
    for (const [method, path] of ADMIN_ROUTES) {
      it(`refuses ${method} ${path.replace(/[A-Z0-9]{5}(-[A-Z0-9]{5}){4}|0{8}-.*$/, ':ref')} without the admin bearer token`, async () => {
        const body = method === 'GET' || method === 'DELETE' ? undefined : {};
        assertRefusal(await call(server.url, method, path, body), 401, 'admin_token_required');
        assertRefusal(await call(server.url, method, path, body, { authorization: 'Bearer not-the-token' }), 401, 'admin_token_required');
        assertRefusal(
          await call(server.url, method, path, body, { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` }),
          401,
          'admin_token_required',
        );
        assertRefusal(await call(server.url, method, path, body, { authorization: 'Bearer' }), 401, 'admin_token_required');
        assertRefusal(await call(server.url, method, path, body, { authorization: `Bearer ${ADMIN_TOKEN}x` }), 401, 'admin_token_required');
      });
    }

    it('lets the right token in, in any case of the scheme word', async () => {
      const res = await call(server.url, 'GET', '/v1/admin/products', undefined, { authorization: `bearer ${ADMIN_TOKEN}` });
      assert.equal(res.status, 200, res.text);
    });

    it('changes nothing when it refuses', async () => {
      const name = `unauthorised-${engine}`;
      assert.equal((await call(server.url, 'POST', '/v1/admin/products', { name })).status, 401);
      assertRefusal(await get(`/v1/admin/products/${name}`), 404, 'product_not_found');
    });
  });

  describe('products', () => {
    it('creates a node-locked product with the default lease and heartbeat', async () => {
      const name = `defaults-${engine}`;
      const res = await post('/v1/admin/products', { name });
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(
        { ...res.body.product, id: undefined },
        {
          id: undefined,
          name,
          seatMode: 'node_locked',
          leaseSeconds: 7 * 86_400,
          heartbeatIntervalSeconds: Math.floor((7 * 86_400) / 3),
          matchStrategy: 'fuzzy',
          reclaim: 'eager',
          churnLimit: null,
          churnPeriodSeconds: 86_400,
          fingerprintChangeWindowSeconds: 30 * 86_400,
          containers: 'refuse',
          latestVersion: null,
          minimumVersion: null,
          createdAt: iso(now()),
        },
      );
      assert.match(res.body.product.id, /^[0-9a-f-]{36}$/);
    });

    it('creates a floating product with its own lease, heartbeat, match strategy and fingerprint change window', async () => {
      const res = await post('/v1/admin/products', {
        name: `floating-${engine}`,
        seatMode: 'floating',
        leaseSeconds: 600,
        heartbeatIntervalSeconds: 120,
        matchStrategy: 'exact',
        fingerprintChangeWindowSeconds: 7 * 86_400,
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.product.fingerprintChangeWindowSeconds, 7 * 86_400);
      assert.equal(res.body.product.seatMode, 'floating');
      assert.equal(res.body.product.leaseSeconds, 600);
      assert.equal(res.body.product.heartbeatIntervalSeconds, 120);
      assert.equal(res.body.product.matchStrategy, 'exact');
    });

    it('refuses a second product with the same name with 409 product_exists', async () => {
      const name = await newProduct();
      assertRefusal(await post('/v1/admin/products', { name }), 409, 'product_exists');
      assertRefusal(await post('/v1/admin/products', { name, seatMode: 'floating' }), 409, 'product_exists');
    });

    it('refuses a heartbeat interval that is not shorter than the lease', async () => {
      const res = await post('/v1/admin/products', { name: `slow-beat-${engine}`, leaseSeconds: 60, heartbeatIntervalSeconds: 60 });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.error.code, 'heartbeat_exceeds_lease');
      assertRefusal(await get(`/v1/admin/products/slow-beat-${engine}`), 404, 'product_not_found');
    });

    it('lists every product and shows one by name', async () => {
      const a = await newProduct();
      const b = await newProduct({ seatMode: 'floating' });
      const list = await get('/v1/admin/products');
      assert.equal(list.status, 200);
      const names = list.body.items.map((p: { name: string }) => p.name);
      assert.ok(names.includes(a) && names.includes(b), names.join(','));
      const shown = await get(`/v1/admin/products/${b}`);
      assert.equal(shown.status, 200);
      assert.equal(shown.body.product.name, b);
      assert.equal(shown.body.product.seatMode, 'floating');
      assert.deepEqual(
        shown.body.product,
        list.body.items.find((p: { name: string }) => p.name === b),
      );
    });

    it('answers 404 product_not_found for an unknown product', async () => {
      assertRefusal(await get('/v1/admin/products/no-such-product'), 404, 'product_not_found');
    });

    it('records who created a product in the audit log', async () => {
      const name = await newProduct();
      const product = (await get(`/v1/admin/products/${name}`)).body.product;
      const audit = await get(`/v1/admin/audit?entity=${product.id}`);
      assert.equal(audit.body.items.length, 1);
      assert.equal(audit.body.items[0].action, 'product.created');
      assert.equal(audit.body.items[0].actor, 'admin-api');
    });
  });

  describe('issuing codes', () => {
    let product: string;
    before(async () => {
      product = await newProduct();
    });

    it('issues a code that expires a number of days from now', async () => {
      const res = await post('/v1/admin/codes', { product, seats: 3, days: 30 });
      assert.equal(res.status, 201, res.text);
      const code = res.body.code;
      assert.match(code.code, CODE_FORMAT);
      assert.match(code.id, /^[0-9a-f-]{36}$/);
      assert.equal(code.product, product);
      assert.equal(code.status, 'issued');
      assert.equal(code.seats, 3);
      assert.equal(code.expiresAt, iso(now() + 30 * DAY));
      assert.equal(code.firstActivatedAt, null);
      assert.deepEqual(code.features, []);
      assert.equal(code.test, false);
    });

    it('issues a code that expires at a given instant', async () => {
      const at = iso(now() + 90 * DAY + 5 * HOUR);
      const code = await issue(product, { days: undefined, expiresAt: at });
      assert.equal(code.expiresAt, at);
    });

    it('accepts an expiry instant with a time-zone offset', async () => {
      const code = await issue(product, { days: undefined, expiresAt: '2099-06-01T12:00:00+02:00' });
      assert.equal(code.expiresAt, '2099-06-01T10:00:00.000Z');
    });

    it('keeps features, metadata and the test flag', async () => {
      const code = await issue(product, { features: ['pro', 'export'], metadata: { order: 'A-17', nested: { n: 1 } }, test: true });
      assert.deepEqual(code.features, ['pro', 'export']);
      assert.deepEqual(code.metadata, { order: 'A-17', nested: { n: 1 } });
      assert.equal(code.test, true);
      const shown = await get(`/v1/admin/codes/${code.code}`);
      assert.deepEqual(shown.body.code, code);
    });

    it('issues a different code every time', async () => {
      const codes = new Set<string>();
      for (let i = 0; i < 10; i++) codes.add((await issue(product)).code);
      assert.equal(codes.size, 10);
    });

    it('refuses both or neither of days and expiresAt', async () => {
      assertRefusal(await post('/v1/admin/codes', { product, seats: 1, days: 3, expiresAt: iso(now() + DAY) }), 400, 'invalid_request');
      assertRefusal(await post('/v1/admin/codes', { product, seats: 1 }), 400, 'invalid_request');
    });

    it('refuses an expiry in the past with expiry_in_past', async () => {
      assertRefusal(await post('/v1/admin/codes', { product, seats: 1, expiresAt: iso(now() - 1000) }), 400, 'expiry_in_past');
    });

    it('refuses a code for an unknown product with 404 product_not_found', async () => {
      assertRefusal(await post('/v1/admin/codes', { product: 'no-such-product', seats: 1, days: 3 }), 404, 'product_not_found');
    });

    it('refuses zero, negative and fractional seats', async () => {
      for (const seats of [0, -1, 1.5]) assertRefusal(await post('/v1/admin/codes', { product, seats, days: 3 }), 400, 'invalid_request');
    });

    it('writes a code.issued audit event by the admin API', async () => {
      const code = await issue(product);
      const audit = await get(`/v1/admin/audit?code=${code.id}`);
      assert.deepEqual(
        audit.body.items.map((e: { action: string }) => e.action),
        ['code.issued'],
      );
      assert.equal(audit.body.items[0].actor, 'admin-api');
      assert.equal(audit.body.items[0].before, null);
    });
  });

  describe('listing codes', () => {
    let product: string;
    let other: string;
    const codes: Record<string, any> = {};

    before(async () => {
      product = await newProduct();
      other = await newProduct();
      codes.issued = await issue(product);
      codes.alive = await issue(product);
      await activate(codes.alive.code);
      codes.frozen = await issue(product);
      await post(`/v1/admin/codes/${codes.frozen.code}/freeze`);
      codes.released = await issue(product);
      await post(`/v1/admin/codes/${codes.released.code}/release`);
      codes.test = await issue(product, { test: true });
      codes.other = await issue(other);
    });

    const listed = async (query: string) => {
      const res = await get(`/v1/admin/codes?${query}`);
      assert.equal(res.status, 200, res.text);
      return res.body.items.map((c: { id: string }) => c.id);
    };

    it('filters by product', async () => {
      const ids = await listed(`product=${product}&limit=500`);
      assert.equal(ids.length, 5);
      assert.ok(!ids.includes(codes.other.id));
      assert.deepEqual(await listed(`product=${other}`), [codes.other.id]);
    });

    it('answers 404 product_not_found when filtering by an unknown product', async () => {
      assertRefusal(await get('/v1/admin/codes?product=no-such-product'), 404, 'product_not_found');
    });

    it('filters by status', async () => {
      for (const status of ['alive', 'frozen', 'released'] as const) {
        assert.deepEqual(await listed(`product=${product}&status=${status}`), [codes[status].id], status);
      }
      const issued = await listed(`product=${product}&status=issued`);
      assert.deepEqual(new Set(issued), new Set([codes.issued.id, codes.test.id]));
    });

    it('filters by the test flag', async () => {
      assert.deepEqual(await listed(`product=${product}&test=true`), [codes.test.id]);
      const real = await listed(`product=${product}&test=false`);
      assert.equal(real.length, 4);
      assert.ok(!real.includes(codes.test.id));
    });

    it('finds a code by a prefix in the typed, dashed or lower-case form', async () => {
      const display: string = codes.frozen.code;
      const bare = display.replace(/-/g, '');
      for (const q of [
        display.slice(0, 8),
        bare.slice(0, 7),
        display.slice(0, 8).toLowerCase(),
        bare.slice(0, 7).toLowerCase(),
        display,
        display.toLowerCase(),
      ]) {
        const ids = await listed(`q=${encodeURIComponent(q)}&limit=500`);
        assert.ok(ids.includes(codes.frozen.id), `search ${q}`);
        assert.ok(ids.length < 3, `search ${q} found ${ids.length}`);
      }
      const spaced = `${bare.slice(0, 5)} ${bare.slice(5, 9)}`.toLowerCase();
      assert.ok((await listed(`q=${encodeURIComponent(spaced)}`)).includes(codes.frozen.id));
    });

    it('finds a code by its id', async () => {
      assert.deepEqual(await listed(`q=${codes.alive.id}`), [codes.alive.id]);
    });

    it('finds nothing for a prefix that no code has', async () => {
      const display: string = codes.issued.code;
      const wrong = display.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      const ids = await listed(`q=${encodeURIComponent(wrong)}`);
      assert.ok(!ids.includes(codes.issued.id));
    });

    it('combines filters', async () => {
      assert.deepEqual(await listed(`product=${product}&status=issued&test=true`), [codes.test.id]);
      assert.deepEqual(await listed(`product=${other}&status=frozen`), []);
    });

    it('shows the status as of now, and lists a swept code under expired', async () => {
      const own = await newProduct();
      const soon = await issue(own, { days: 1 });
      server.clock.advance(DAY + 1000);
      const before = await get(`/v1/admin/codes/${soon.code}`);
      assert.equal(before.body.code.status, 'expired', 'an issued code past its date reads as expired before the sweep');
      assert.equal(before.body.code.storedStatus, 'issued');
      const report = await server.running.sweeper.runOnce();
      assert.ok(report.expired >= 1);
      assert.deepEqual(await listed(`product=${own}&status=expired`), [soon.id]);
      assert.deepEqual(await listed(`product=${own}&status=issued`), []);
      const after = await get(`/v1/admin/codes/${soon.code}`);
      assert.equal(after.body.code.storedStatus, 'expired');
    });
  });

  describe('paging through codes', () => {
    let product: string;
    const issued: string[] = [];

    before(async () => {
      product = await newProduct();
      // Some codes share a creation instant, so the order must break ties.
      for (let i = 0; i < 11; i++) {
        issued.push((await issue(product)).id);
        if (i % 3 === 0) server.clock.advance(1);
      }
    });

    it('walks every page once, newest first, with no duplicates or gaps', async () => {
      for (const limit of [1, 2, 3, 4, 10, 11, 12]) {
        const { items, pages } = await walk(`/v1/admin/codes?product=${product}`, limit);
        const ids = items.map((c) => c.id);
        assert.equal(new Set(ids).size, ids.length, `duplicates at limit ${limit}`);
        assert.deepEqual(new Set(ids), new Set(issued), `gaps at limit ${limit}`);
        assert.equal(pages, Math.ceil(11 / limit), `pages at limit ${limit}`);
        const times = items.map((c) => Date.parse(c.createdAt));
        assert.deepEqual(
          times,
          [...times].sort((a, b) => b - a),
          'newest first',
        );
      }
    });

    it('gives the same order page by page as in one page', async () => {
      const all = (await get(`/v1/admin/codes?product=${product}&limit=500`)).body.items.map((c: { id: string }) => c.id);
      const paged = (await walk(`/v1/admin/codes?product=${product}`, 4)).items.map((c) => c.id);
      assert.deepEqual(paged, all);
    });

    it('ends with a null nextCursor, and defaults to 50 per page', async () => {
      const res = await get(`/v1/admin/codes?product=${product}`);
      assert.equal(res.body.items.length, 11);
      assert.equal(res.body.nextCursor, null);
    });

    it('keeps paging stable while new codes are issued', async () => {
      const ids: string[] = [];
      let page = await get(`/v1/admin/codes?product=${product}&limit=5`);
      ids.push(...page.body.items.map((c: { id: string }) => c.id));
      await issue(product);
      while (page.body.nextCursor) {
        page = await get(`/v1/admin/codes?product=${product}&limit=5&cursor=${encodeURIComponent(page.body.nextCursor)}`);
        assert.equal(page.status, 200, page.text);
        ids.push(...page.body.items.map((c: { id: string }) => c.id));
      }
      assert.equal(ids.length, 11);
      assert.deepEqual(new Set(ids), new Set(issued), 'the newer code is not on older pages; nothing is skipped');
    });
  });

  describe('showing a code', () => {
    let code: any;
    before(async () => {
      code = await issue(await newProduct());
    });

    it('finds it by the printed code, the typed form, and its id', async () => {
      const bare = code.code.replace(/-/g, '');
      for (const ref of [code.code, code.code.toLowerCase(), bare, bare.toLowerCase(), code.id, code.id.toUpperCase()]) {
        const res = await get(`/v1/admin/codes/${encodeURIComponent(ref)}`);
        assert.equal(res.status, 200, `${ref}: ${res.text}`);
        assert.equal(res.body.code.id, code.id);
      }
      const spaced = await get(`/v1/admin/codes/${encodeURIComponent(` ${bare.toLowerCase().match(/.{5}/g).join(' ')} `)}`);
      assert.equal(spaced.body.code.id, code.id);
    });

    it('answers 404 code_not_found for an unknown or malformed code', async () => {
      for (const ref of ['ABCDE-FGHJK-MNPQR-STVWX-YZ234', 'not-a-code', '00000000-0000-0000-0000-000000000000', 'x'.repeat(64)]) {
        assertRefusal(await get(`/v1/admin/codes/${ref}`), 404, 'code_not_found');
      }
    });
  });

  describe('renewing and shortening', () => {
    let product: string;
    before(async () => {
      product = await newProduct();
    });

    it('extends a running code by days from its current expiry', async () => {
      const code = await issue(product, { days: 30 });
      const res = await post(`/v1/admin/codes/${code.code}/renew`, { days: 10 });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.changed, true);
      assert.equal(res.body.code.expiresAt, iso(Date.parse(code.expiresAt) + 10 * DAY));
      const audit = await get(`/v1/admin/audit?code=${code.id}&action=code.renewed`);
      assert.equal(audit.body.items.length, 1);
      assert.equal(audit.body.items[0].actor, 'admin-api');
    });

    it('extends an expired code by days from now and moves it back to alive', async () => {
      const code = await issue(product, { days: 1 });
      await activate(code.code);
      server.clock.advance(3 * DAY);
      await server.running.sweeper.runOnce();
      assert.equal((await get(`/v1/admin/codes/${code.code}`)).body.code.storedStatus, 'expired');
      const res = await post(`/v1/admin/codes/${code.code}/renew`, { days: 5 });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.code.expiresAt, iso(now() + 5 * DAY));
      assert.equal(res.body.code.status, 'alive');
      assert.equal(res.body.code.storedStatus, 'alive');
    });

    it('sets an exact later expiry with expiresAt', async () => {
      const code = await issue(product, { days: 30 });
      const at = iso(now() + 400 * DAY);
      const res = await post(`/v1/admin/codes/${code.id}/renew`, { expiresAt: at });
      assert.equal(res.body.code.expiresAt, at);
      assert.equal(res.body.changed, true);
    });

    it('shortens with an earlier expiresAt and audits it as code.shortened', async () => {
      const code = await issue(product, { days: 30 });
      const at = iso(now() + 7 * DAY);
      const res = await post(`/v1/admin/codes/${code.code}/renew`, { expiresAt: at });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.code.expiresAt, at);
      assert.equal(res.body.changed, true);
      const audit = await get(`/v1/admin/audit?code=${code.id}`);
      assert.deepEqual(
        audit.body.items.map((e: { action: string }) => e.action),
        ['code.shortened', 'code.issued'],
      );
      const event = audit.body.items[0];
      assert.equal(event.before.expiresAt, code.expiresAt);
      assert.equal(event.after.expiresAt, at);
    });

    it('expires a code shortened into the past', async () => {
      const code = await issue(product, { days: 30 });
      await activate(code.code);
      const res = await post(`/v1/admin/codes/${code.code}/renew`, { expiresAt: iso(now() - HOUR) });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.code.status, 'expired');
    });

    it('answers changed:false when the expiry is already the one asked for', async () => {
      const code = await issue(product, { days: 30 });
      const res = await post(`/v1/admin/codes/${code.code}/renew`, { expiresAt: code.expiresAt });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.changed, false);
      const audit = await get(`/v1/admin/audit?code=${code.id}`);
      assert.equal(audit.body.items.length, 1);
    });

    it('keeps a frozen code frozen with its new date', async () => {
      const code = await issue(product, { days: 30 });
      await post(`/v1/admin/codes/${code.code}/freeze`);
      const res = await post(`/v1/admin/codes/${code.code}/renew`, { days: 30 });
      assert.equal(res.body.code.status, 'frozen');
      assert.equal(res.body.code.expiresAt, iso(Date.parse(code.expiresAt) + 30 * DAY));
    });

    it('refuses to renew a released code with 409 illegal_transition', async () => {
      const code = await issue(product);
      await post(`/v1/admin/codes/${code.code}/release`);
      const res = await post(`/v1/admin/codes/${code.code}/renew`, { days: 30 });
      assertRefusal(res, 409, 'illegal_transition');
      assert.deepEqual(res.body.error.details, { from: 'released', action: 'renew' });
    });

    it('refuses a renewal without days or expiresAt, or with both', async () => {
      const code = await issue(product);
      assertRefusal(await post(`/v1/admin/codes/${code.code}/renew`, {}), 400, 'invalid_request');
      assertRefusal(await post(`/v1/admin/codes/${code.code}/renew`), 400, 'invalid_request');
      assertRefusal(await post(`/v1/admin/codes/${code.code}/renew`, { days: 1, expiresAt: iso(now() + DAY) }), 400, 'invalid_request');
    });

    it('answers 404 code_not_found for an unknown code', async () => {
      assertRefusal(await post('/v1/admin/codes/ABCDE-FGHJK-MNPQR-STVWX-YZ234/renew', { days: 1 }), 404, 'code_not_found');
    });
  });

  describe('freezing, unfreezing and releasing', () => {
    let product: string;
    before(async () => {
      product = await newProduct();
    });

    it('freezes an alive code and unfreezes it back to alive, each once', async () => {
      const code = await issue(product);
      await activate(code.code);
      const frozen = await post(`/v1/admin/codes/${code.code}/freeze`);
      assert.equal(frozen.status, 200, frozen.text);
      assert.deepEqual([frozen.body.code.status, frozen.body.changed], ['frozen', true]);
      const again = await post(`/v1/admin/codes/${code.code}/freeze`);
      assert.deepEqual([again.status, again.body.code.status, again.body.changed], [200, 'frozen', false]);
      const thawed = await post(`/v1/admin/codes/${code.code}/unfreeze`);
      assert.deepEqual([thawed.body.code.status, thawed.body.changed], ['alive', true]);
      const thawedAgain = await post(`/v1/admin/codes/${code.code}/unfreeze`);
      assert.deepEqual([thawedAgain.status, thawedAgain.body.code.status, thawedAgain.body.changed], [200, 'alive', false]);
      const audit = await get(`/v1/admin/audit?code=${code.id}`);
      const actions = audit.body.items.map((e: { action: string }) => e.action);
      assert.deepEqual(
        actions.filter((a: string) => a === 'code.frozen' || a === 'code.unfrozen'),
        ['code.unfrozen', 'code.frozen'],
      );
    });

    it('refuses activation of a frozen code', async () => {
      const code = await issue(product);
      await post(`/v1/admin/codes/${code.code}/freeze`);
      const res = await call(server.url, 'POST', '/v1/activations', { code: code.code, fingerprint: machine('frozen-out') });
      assertRefusal(res, 409, 'illegal_transition');
    });

    it('unfreezes a code whose date passed while frozen to expired', async () => {
      const code = await issue(product, { days: 1 });
      await activate(code.code);
      await post(`/v1/admin/codes/${code.code}/freeze`);
      server.clock.advance(2 * DAY);
      const res = await post(`/v1/admin/codes/${code.code}/unfreeze`);
      assert.equal(res.body.code.status, 'expired');
      assert.equal(res.body.changed, true);
    });

    it('unfreezes a never-activated code back to issued', async () => {
      const code = await issue(product);
      await post(`/v1/admin/codes/${code.code}/freeze`);
      const res = await post(`/v1/admin/codes/${code.code}/unfreeze`);
      assert.equal(res.body.code.status, 'issued');
    });

    it('releases a code, frees every seat, and answers changed:false on a repeat', async () => {
      const code = await issue(product, { seats: 2 });
      await activate(code.code);
      await activate(code.code);
      const res = await post(`/v1/admin/codes/${code.code}/release`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual([res.body.code.status, res.body.changed], ['released', true]);
      const seats = await get(`/v1/admin/codes/${code.code}/activations`);
      assert.deepEqual(
        seats.body.items.map((a: { status: string }) => a.status),
        ['deactivated', 'deactivated'],
      );
      const again = await post(`/v1/admin/codes/${code.code}/release`);
      assert.deepEqual([again.status, again.body.code.status, again.body.changed], [200, 'released', false]);
      const audit = await get(`/v1/admin/audit?code=${code.id}&action=code.released`);
      assert.equal(audit.body.items.length, 1);
    });

    it('releases a frozen code and an expired one', async () => {
      const frozen = await issue(product);
      await post(`/v1/admin/codes/${frozen.code}/freeze`);
      assert.equal((await post(`/v1/admin/codes/${frozen.code}/release`)).body.code.status, 'released');
      const expired = await issue(product, { days: 1 });
      server.clock.advance(2 * DAY);
      await server.running.sweeper.runOnce();
      assert.equal((await post(`/v1/admin/codes/${expired.code}/release`)).body.code.status, 'released');
    });

    it('refuses to freeze or unfreeze a released code with 409 illegal_transition', async () => {
      const code = await issue(product);
      await post(`/v1/admin/codes/${code.code}/release`);
      for (const action of ['freeze', 'unfreeze']) {
        const res = await post(`/v1/admin/codes/${code.code}/${action}`);
        assertRefusal(res, 409, 'illegal_transition');
        assert.deepEqual(res.body.error.details, { from: 'released', action });
      }
      assert.equal((await get(`/v1/admin/codes/${code.code}`)).body.code.status, 'released');
    });

    it('accepts the action with an empty JSON body too', async () => {
      const code = await issue(product);
      const res = await post(`/v1/admin/codes/${code.code}/freeze`, {});
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.code.status, 'frozen');
    });

    it('answers 404 code_not_found for an unknown code', async () => {
      for (const action of ['freeze', 'unfreeze', 'release']) {
        assertRefusal(await post(`/v1/admin/codes/ABCDE-FGHJK-MNPQR-STVWX-YZ234/${action}`), 404, 'code_not_found');
      }
    });
  });

  describe('activations', () => {
    let product: string;
    before(async () => {
      product = await newProduct();
    });

    it('lists the machines of a code with their fingerprint and environment', async () => {
      const code = await issue(product, { seats: 2 });
      const res = await call(server.url, 'POST', '/v1/activations', {
        code: code.code,
        fingerprint: machine('listed'),
        environment: { container: 'docker', cpus: 4 },
      });
      assert.equal(res.status, 201, res.text);
      const list = await get(`/v1/admin/codes/${code.code}/activations`);
      assert.equal(list.status, 200);
      assert.equal(list.body.items.length, 1);
      const [a] = list.body.items;
      assert.equal(a.id, res.body.activation.id);
      assert.equal(a.codeId, code.id);
      assert.equal(a.status, 'active');
      assert.deepEqual(a.fingerprint, machine('listed'));
      assert.deepEqual(a.environment, { container: 'docker', cpus: 4 });
      const one = await get(`/v1/admin/activations/${a.id}`);
      assert.deepEqual(one.body.activation, a);
    });

    // On SQLite an activation's row and audit event reach the database as statement text with
    // their values written in (src/storage/direct-sql.ts, sqliteLiteral): whatever a client sends
    // must come back as it was sent.
    it("keeps a machine's environment exactly as sent, quotes, SQL, NUL and lone surrogates included", async () => {
      const environment = {
        "it's": "' OR 1=1 --",
        sql: "x'); DROP TABLE activations; --",
        nul: 'a\u0000b',
        surrogate: '\ud800',
        question: '? ?? ?1 :a @a $a',
        quotes: `''"\\'`,
      };
      const code = await issue(product, { seats: 1 });
      const res = await call(server.url, 'POST', '/v1/activations', { code: code.code, fingerprint: machine('hostile-environment'), environment });
      assert.equal(res.status, 201, res.text);
      const [listed] = (await get(`/v1/admin/codes/${code.code}/activations`)).body.items;
      assert.deepEqual(listed.environment, environment);
      const audit = await get(`/v1/admin/audit?entity=${res.body.activation.id}&action=activation.created`);
      assert.deepEqual(audit.body.items[0].after, { environment });
    });

    it('lists nothing for a code nobody activated, and 404 for an unknown code', async () => {
      const code = await issue(product);
      assert.deepEqual((await get(`/v1/admin/codes/${code.id}/activations`)).body.items, []);
      assertRefusal(await get('/v1/admin/codes/ABCDE-FGHJK-MNPQR-STVWX-YZ234/activations'), 404, 'code_not_found');
    });

    it('deactivates a machine for the operator, frees its seat, and repeats harmlessly', async () => {
      const code = await issue(product, { seats: 1 });
      const first = await activate(code.code, 'admin-kicked');
      assertRefusal(await call(server.url, 'POST', '/v1/activations', { code: code.code, fingerprint: machine('admin-next') }), 409, 'seat_limit_reached');
      const id = first.body.activation.id;
      const res = await admin(server.url, 'DELETE', `/v1/admin/activations/${id}`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.activation.status, 'deactivated');
      assert.equal(res.body.activation.endedAt, iso(now()));
      const again = await admin(server.url, 'DELETE', `/v1/admin/activations/${id}`);
      assert.equal(again.status, 200);
      assert.equal(again.body.activation.status, 'deactivated');
      assert.equal((await call(server.url, 'POST', '/v1/activations', { code: code.code, fingerprint: machine('admin-next') })).status, 201);
      const audit = await get(`/v1/admin/audit?code=${code.id}&action=activation.deactivated`);
      assert.equal(audit.body.items.length, 1);
      assert.equal(audit.body.items[0].actor, 'admin-api');
      assert.equal(audit.body.items[0].entityId, id);
      const beat = await call(server.url, 'POST', '/v1/heartbeat', {
        activationId: id,
        secret: first.body.activation.secret,
        fingerprint: machine('admin-kicked'),
      });
      assertRefusal(beat, 409, 'activation_ended');
    });

    it('answers 404 activation_not_found for an unknown activation', async () => {
      assertRefusal(await get('/v1/admin/activations/00000000-0000-0000-0000-000000000000'), 404, 'activation_not_found');
      assertRefusal(await admin(server.url, 'DELETE', '/v1/admin/activations/00000000-0000-0000-0000-000000000000'), 404, 'activation_not_found');
    });
  });

  describe('the audit log', () => {
    let code: any;
    before(async () => {
      code = await issue(await newProduct());
      // 1 issue + 8 changes = 9 events on this code, some at the same instant.
      for (let i = 0; i < 4; i++) {
        await post(`/v1/admin/codes/${code.code}/freeze`);
        if (i % 2 === 0) server.clock.advance(1);
        await post(`/v1/admin/codes/${code.code}/unfreeze`);
      }
    });

    it('lists the events of one code, newest first', async () => {
      const res = await get(`/v1/admin/audit?code=${code.code}`);
      assert.equal(res.status, 200);
      const actions = res.body.items.map((e: { action: string }) => e.action);
      assert.equal(actions.length, 9);
      assert.equal(actions[8], 'code.issued');
      assert.ok(res.body.items.every((e: { codeId: string }) => e.codeId === code.id));
      const times = res.body.items.map((e: { at: string }) => Date.parse(e.at));
      assert.deepEqual(
        times,
        [...times].sort((a, b) => b - a),
      );
    });

    it('finds the code by id or in any typed form', async () => {
      const byId = await get(`/v1/admin/audit?code=${code.id}`);
      const typed = await get(`/v1/admin/audit?code=${code.code.replace(/-/g, '').toLowerCase()}`);
      assert.equal(byId.body.items.length, 9);
      assert.deepEqual(typed.body.items, byId.body.items);
    });

    it('filters by action', async () => {
      const res = await get(`/v1/admin/audit?code=${code.id}&action=code.frozen`);
      assert.equal(res.body.items.length, 4);
      assert.ok(res.body.items.every((e: { action: string }) => e.action === 'code.frozen'));
      const event = res.body.items[0];
      assert.equal(event.before.status, 'issued');
      assert.equal(event.after.status, 'frozen');
      assert.equal(event.entityType, 'code');
      assert.equal(event.entityId, code.id);
      assert.deepEqual((await get(`/v1/admin/audit?code=${code.id}&action=no.such.action`)).body.items, []);
    });

    it('pages through the events with no duplicates or gaps', async () => {
      const all = (await get(`/v1/admin/audit?code=${code.id}&limit=500`)).body.items.map((e: { id: string }) => e.id);
      for (const limit of [1, 2, 4, 9]) {
        const { items, pages } = await walk(`/v1/admin/audit?code=${code.id}`, limit);
        assert.deepEqual(
          items.map((e) => e.id),
          all,
          `limit ${limit}`,
        );
        assert.equal(pages, Math.ceil(9 / limit));
      }
    });

    it('pages through the whole log without a filter', async () => {
      const { items } = await walk('/v1/admin/audit', 7);
      const ids = items.map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length);
      assert.ok(ids.length >= 9);
    });

    it('answers 404 code_not_found for an unknown code filter', async () => {
      assertRefusal(await get('/v1/admin/audit?code=ABCDE-FGHJK-MNPQR-STVWX-YZ234'), 404, 'code_not_found');
    });
  });

  describe('signing keys', () => {
    const PRIVATE = [/PRIVATE/, /privateKey/i, /"d"\s*:/];
    const assertNoPrivateMaterial = (text: string) => {
      for (const p of PRIVATE) assert.doesNotMatch(text, p, `private key material in: ${text.slice(0, 300)}`);
    };

    it('lists the keys without any private material', async () => {
      const res = await get('/v1/admin/keys');
      assert.equal(res.status, 200);
      assertNoPrivateMaterial(res.text);
      assert.ok(res.body.items.length >= 1);
      const current = res.body.items.find((k: { kid: string }) => k.kid === res.body.current);
      assert.ok(current, 'the current kid is listed');
      assert.equal(current.status, 'active');
      assert.equal(current.alg, 'EdDSA');
      assert.equal(current.publicJwk.kty, 'OKP');
      assert.equal(current.publicJwk.crv, 'Ed25519');
    });

    it('rotates: a new current kid signs tokens, and the old kid stays in the JWKS', async () => {
      const before = await get('/v1/admin/keys');
      const oldKid: string = before.body.current;
      const code = await issue(await newProduct(), { seats: 2 });
      const oldToken = (await activate(code.code)).body.token;
      assert.equal(jwtHeader(oldToken).kid, oldKid);

      const res = await post('/v1/admin/keys/rotate');
      assert.equal(res.status, 201, res.text);
      assertNoPrivateMaterial(res.text);
      const newKid: string = res.body.current.kid;
      assert.notEqual(newKid, oldKid);
      assert.ok(res.body.retired.some((k: { kid: string }) => k.kid === oldKid));

      const after = await get('/v1/admin/keys');
      assertNoPrivateMaterial(after.text);
      assert.equal(after.body.current, newKid);
      assert.equal(after.body.items.find((k: { kid: string }) => k.kid === oldKid).status, 'retired');

      const jwks = await call(server.url, 'GET', '/.well-known/jwks.json');
      assert.equal(jwks.status, 200);
      assertNoPrivateMaterial(jwks.text);
      const kids = jwks.body.keys.map((k: { kid: string }) => k.kid);
      assert.ok(kids.includes(oldKid) && kids.includes(newKid), kids.join(','));

      const newToken = (await activate(code.code)).body.token;
      assert.equal(jwtHeader(newToken).kid, newKid);
      const audit = await get(`/v1/admin/audit?entity=${newKid}`);
      assert.equal(audit.body.items[0].action, 'key.rotated');
    });

    it('keeps no private material in the audit log either', async () => {
      await post('/v1/admin/keys/rotate');
      const { items } = await walk('/v1/admin/audit', 500);
      assertNoPrivateMaterial(JSON.stringify(items));
    });
  });
});
