import { strict as assert } from 'node:assert';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/harness';
import { admin, call, type Answer } from './support/http';
import { assertCleanError, assertNoInternals, assertRefusal } from './support/refusals';

const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
const JSON_TYPE = { 'content-type': 'application/json' };
const HASH = 'ab'.repeat(16);
const UNKNOWN_CODE = 'ABCDE-FGHJK-MNPQR-STVWX-YZ234';
const UNKNOWN_ID = '00000000-0000-0000-0000-000000000000';

/** JSON nested `depth` arrays deep around a value. */
const nested = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);

/** A body already written as JSON text (too deep for JSON.stringify in the test itself). */
class Raw {
  constructor(readonly text: string) {}
}
const encode = (body: unknown) => (body instanceof Raw ? body.text : JSON.stringify(body));

interface Route {
  method: string;
  path: string;
  admin: boolean;
  /** The route reads a JSON body (others accept and ignore one). */
  readsBody: boolean;
  /** Body size limit in bytes. */
  limit: number;
}

forEachEngine('bad input', (engine) => {
  let server: TestServer;
  let code: string;
  let codeId: string;
  let activationId: string;
  let token: string;
  let secret: string;
  /** A second activation, for beats that name another machine: they would make the first one's later beats a clone's. */
  let other: { activationId: string; secret: string };
  let product: string;
  let routes: Route[];

  before(async () => {
    server = await startTestServer(engine);
    product = `bad-input-${engine}`;
    assert.equal((await admin(server.url, 'POST', '/v1/admin/products', { name: product })).status, 201);
    const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 5, days: 30 });
    code = issued.body.code.code;
    codeId = issued.body.code.id;
    const activated = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('bad-input') });
    assert.equal(activated.status, 201, activated.text);
    activationId = activated.body.activation.id;
    token = activated.body.token;
    secret = activated.body.activation.secret;
    const second = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('bad-input-other') });
    other = { activationId: second.body.activation.id, secret: second.body.activation.secret };
    const client = (method: string, path: string, readsBody = true): Route => ({ method, path, admin: false, readsBody, limit: 32 * 1024 });
    const adm = (method: string, path: string, readsBody: boolean): Route => ({ method, path, admin: true, readsBody, limit: 64 * 1024 });
    routes = [
      client('POST', '/v1/activations'),
      client('POST', '/v1/heartbeat'),
      client('DELETE', `/v1/activations/${activationId}`),
      adm('POST', '/v1/admin/products', true),
      adm('POST', '/v1/admin/codes', true),
      adm('POST', `/v1/admin/codes/${code}/renew`, true),
      adm('POST', `/v1/admin/codes/${code}/freeze`, false),
      adm('POST', `/v1/admin/codes/${code}/unfreeze`, false),
      adm('POST', `/v1/admin/codes/${code}/release`, false),
      adm('POST', '/v1/admin/keys/rotate', false),
      adm('DELETE', `/v1/admin/activations/${UNKNOWN_ID}`, false),
    ];
  });
  after(async () => server?.close());

  /** Sends a raw body (string or Buffer) with exactly the headers given. */
  async function send(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(server.url + path, { method, body, headers });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, headers: res.headers, text };
  }
  const sendTo = (route: Route, body?: string | Buffer, headers: Record<string, string> = {}) =>
    send(route.method, route.path, body, { ...(route.admin ? AUTH : {}), ...headers });

  /** Still serving, and nothing got through: the code is untouched and still activates. */
  async function assertUnharmed(): Promise<void> {
    const health = await call(server.url, 'GET', '/healthz');
    assert.equal(health.status, 200);
  }

  describe('bodies every body-taking route refuses', () => {
    const BODIES: Array<[string, (r: Route) => [string | Buffer, Record<string, string>], number, string | null]> = [
      ['invalid JSON', () => ['{"code": "abc", ', JSON_TYPE], 400, 'invalid_json'],
      ['a JSON body cut short', () => ['{"a":[1,2', JSON_TYPE], 400, 'invalid_json'],
      ['JSON null', () => ['null', JSON_TYPE], 400, 'invalid_json'],
      ['a bare JSON string', () => ['"hello"', JSON_TYPE], 400, 'invalid_json'],
      ['a bare JSON number', () => ['42', JSON_TYPE], 400, 'invalid_json'],
      ['text/plain', () => ['{}', { 'content-type': 'text/plain' }], 415, 'unsupported_media_type'],
      ['a form', () => ['code=abc', { 'content-type': 'application/x-www-form-urlencoded' }], 415, 'unsupported_media_type'],
      ['no content type', () => ['{}', {}], 415, 'unsupported_media_type'],
      ['a body over the limit', (r) => [JSON.stringify({ pad: 'x'.repeat(r.limit + 1024) }), JSON_TYPE], 413, 'payload_too_large'],
      ['a huge body', () => ['{"pad":"' + 'x'.repeat(2 * 1024 * 1024) + '"}', JSON_TYPE], 413, 'payload_too_large'],
      ['JSON nested 100 000 deep', () => [nested(100_000), JSON_TYPE], 413, 'payload_too_large'],
      ['a latin-1 charset', () => ['{}', { 'content-type': 'application/json; charset=latin1' }], 415, 'unsupported_charset'],
      ['an unknown content encoding', () => ['{}', { ...JSON_TYPE, 'content-encoding': 'zstd-ish' }], 415, 'unsupported_encoding'],
      ['gzip that is not gzip', () => ['{}garbage', { ...JSON_TYPE, 'content-encoding': 'gzip' }], 400, 'invalid_content_encoding'],
      ['deflate that is not deflate', () => ['{}garbage', { ...JSON_TYPE, 'content-encoding': 'deflate' }], 400, 'invalid_content_encoding'],
    ];
    for (const [what, make, status, errorCode] of BODIES) {
      it(`refuses ${what} on every route that takes a body`, async () => {
        for (const route of routes) {
          const [body, headers] = make(route);
          const res = await sendTo(route, body, headers);
          const where = `${route.method} ${route.path}: ${res.status} ${res.text.slice(0, 200)}`;
          if (errorCode) {
            assert.equal(res.status, status, where);
            assert.equal(res.body?.error?.code, errorCode, where);
          }
          assertCleanError(res);
        }
        await assertUnharmed();
      });
    }

    it('refuses a top-level array, a deeply nested body or invalid UTF-8 where a body is read', async () => {
      const invalidUtf8 = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]);
      for (const route of routes.filter((r) => r.readsBody && r.method === 'POST')) {
        for (const body of ['[]', '[{"code":"x"}]', '{"a":' + nested(500) + '}', '{"a":' + nested(10_000) + '}', invalidUtf8]) {
          const res = await sendTo(route, body, JSON_TYPE);
          assertRefusal(res, 400, 'invalid_request');
        }
        assertRefusal(await sendTo(route, 'true', JSON_TYPE), 400, 'invalid_json');
      }
    });

    it('answers an empty POST on a body-reading route with invalid_request, not a crash', async () => {
      for (const route of routes.filter((r) => r.readsBody && r.method === 'POST')) {
        assertRefusal(await sendTo(route), 400, 'invalid_request');
        assertRefusal(await sendTo(route, '', JSON_TYPE), 400, 'invalid_request');
      }
    });
  });

  describe('fields', () => {
    const activation = (over: Record<string, unknown>) => ({ code, fingerprint: machine('bad-input'), ...over });
    const many = (n: number, value: (i: number) => unknown) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}`, value(i)]));

    const CASES: Array<[string, string, () => unknown, number, string]> = [
      // POST /v1/activations
      ['/v1/activations', 'an empty object', () => ({}), 400, 'invalid_request'],
      ['/v1/activations', 'a missing fingerprint', () => ({ code }), 400, 'invalid_request'],
      ['/v1/activations', 'a missing code', () => ({ fingerprint: machine('x') }), 400, 'invalid_request'],
      ['/v1/activations', 'a numeric code', () => activation({ code: 12345 }), 400, 'invalid_request'],
      ['/v1/activations', 'a null code', () => activation({ code: null }), 400, 'invalid_request'],
      ['/v1/activations', 'an empty code', () => activation({ code: '' }), 400, 'invalid_request'],
      ['/v1/activations', 'a 20 000-character code', () => activation({ code: 'A'.repeat(20_000) }), 400, 'invalid_request'],
      ['/v1/activations', 'a code of the wrong length', () => activation({ code: 'ABCDE-FGHJK' }), 400, 'malformed_code'],
      ['/v1/activations', 'a code with a NUL byte', () => activation({ code: code.slice(0, -1) + '\u0000' }), 400, 'malformed_code'],
      ['/v1/activations', 'a code with foreign letters', () => activation({ code: 'ÄBCDE-FGHJK-MNPQR-STVWX-YZ234' }), 400, 'malformed_code'],
      ['/v1/activations', 'an unknown but well-formed code', () => activation({ code: UNKNOWN_CODE }), 404, 'code_not_found'],
      ['/v1/activations', 'a fingerprint string', () => activation({ fingerprint: HASH }), 400, 'invalid_request'],
      ['/v1/activations', 'a fingerprint array', () => activation({ fingerprint: [HASH] }), 400, 'invalid_request'],
      ['/v1/activations', 'an empty fingerprint', () => activation({ fingerprint: {} }), 400, 'invalid_request'],
      ['/v1/activations', '33 fingerprint components', () => activation({ fingerprint: many(33, () => HASH) }), 400, 'invalid_request'],
      ['/v1/activations', 'a non-hex hash', () => activation({ fingerprint: { 'os.machineId': 'zz'.repeat(16) } }), 400, 'invalid_request'],
      ['/v1/activations', 'a short hash', () => activation({ fingerprint: { 'os.machineId': 'abcdef' } }), 400, 'invalid_request'],
      ['/v1/activations', 'a 129-digit hash', () => activation({ fingerprint: { 'os.machineId': 'a'.repeat(129) } }), 400, 'invalid_request'],
      ['/v1/activations', 'a numeric hash', () => activation({ fingerprint: { 'os.machineId': 1234 } }), 400, 'invalid_request'],
      ['/v1/activations', 'a null hash', () => activation({ fingerprint: { 'os.machineId': null } }), 400, 'invalid_request'],
      ['/v1/activations', 'a list of 65 hashes', () => activation({ fingerprint: { 'net.macs': Array(65).fill(HASH) } }), 400, 'invalid_request'],
      ['/v1/activations', 'a nested list of hashes', () => activation({ fingerprint: { 'net.macs': [[HASH]] } }), 400, 'invalid_request'],
      ['/v1/activations', 'an upper-case component id', () => activation({ fingerprint: { 'OS.machineId': HASH } }), 400, 'invalid_request'],
      ['/v1/activations', 'a __proto__ component id', () => JSON.parse(`{"code":"${code}","fingerprint":{"__proto__":"${HASH}"}}`), 400, 'invalid_request'],
      ['/v1/activations', 'an environment array', () => activation({ environment: ['docker'] }), 400, 'invalid_request'],
      ['/v1/activations', 'an environment string', () => activation({ environment: 'docker' }), 400, 'invalid_request'],
      ['/v1/activations', 'a nested environment', () => activation({ environment: { a: { b: 1 } } }), 400, 'invalid_request'],
      ['/v1/activations', '33 environment entries', () => activation({ environment: many(33, (i) => i) }), 400, 'invalid_request'],
      ['/v1/activations', 'a long environment value', () => activation({ environment: { a: 'x'.repeat(257) } }), 400, 'invalid_request'],
      ['/v1/activations', 'a long environment key', () => activation({ environment: { ['k'.repeat(65)]: 1 } }), 400, 'invalid_request'],
      // POST /v1/heartbeat
      ['/v1/heartbeat', 'an empty object', () => ({}), 400, 'invalid_request'],
      ['/v1/heartbeat', 'a missing fingerprint', () => ({ activationId }), 400, 'invalid_request'],
      ['/v1/heartbeat', 'a missing activation id', () => ({ fingerprint: machine('bad-input') }), 400, 'invalid_request'],
      ['/v1/heartbeat', 'a numeric activation id', () => ({ activationId: 42, fingerprint: machine('bad-input') }), 400, 'invalid_request'],
      ['/v1/heartbeat', 'a malformed activation id', () => ({ activationId: 'not-an-id', fingerprint: machine('bad-input') }), 400, 'invalid_request'],
      [
        '/v1/heartbeat',
        'a 10 000-character activation id',
        () => ({ activationId: 'a'.repeat(10_000), fingerprint: machine('bad-input') }),
        400,
        'invalid_request',
      ],
      ['/v1/heartbeat', 'an unknown activation id', () => ({ activationId: UNKNOWN_ID, fingerprint: machine('bad-input') }), 404, 'activation_not_found'],
      ['/v1/heartbeat', 'a fingerprint list', () => ({ activationId, fingerprint: [] }), 400, 'invalid_request'],
      ['/v1/heartbeat', 'another machine', () => ({ ...other, fingerprint: machine('someone-else') }), 403, 'fingerprint_mismatch'],
      ['/v1/heartbeat', 'no proof of holding the activation', () => ({ activationId, fingerprint: machine('bad-input') }), 403, 'activation_proof_required'],
      ['/v1/heartbeat', 'a wrong secret', () => ({ activationId, secret: 'A'.repeat(43), fingerprint: machine('bad-input') }), 403, 'activation_proof_invalid'],
      ['/v1/heartbeat', 'a secret too short to be one', () => ({ activationId, secret: 'abc', fingerprint: machine('bad-input') }), 400, 'invalid_request'],
      ['/v1/heartbeat', 'a numeric secret', () => ({ activationId, secret: 7, fingerprint: machine('bad-input') }), 400, 'invalid_request'],
      [
        '/v1/heartbeat',
        'a token that proves nothing',
        () => ({ activationId, token: 'not.a.token', fingerprint: machine('bad-input') }),
        403,
        'activation_proof_invalid',
      ],
      // POST /v1/admin/products
      ['/v1/admin/products', 'an empty object', () => ({}), 400, 'invalid_request'],
      ['/v1/admin/products', 'a numeric name', () => ({ name: 7 }), 400, 'invalid_request'],
      ['/v1/admin/products', 'an empty name', () => ({ name: '' }), 400, 'invalid_request'],
      ['/v1/admin/products', 'a name with a space', () => ({ name: 'my app' }), 400, 'invalid_request'],
      ['/v1/admin/products', 'a name with a slash', () => ({ name: 'a/b' }), 400, 'invalid_request'],
      ['/v1/admin/products', 'a name with a NUL byte', () => ({ name: 'a\u0000b' }), 400, 'invalid_request'],
      ['/v1/admin/products', 'a 101-character name', () => ({ name: 'a'.repeat(101) }), 400, 'invalid_request'],
      ['/v1/admin/products', 'a 30 000-character name', () => ({ name: 'a'.repeat(30_000) }), 400, 'invalid_request'],
      ['/v1/admin/products', 'an unknown seat mode', () => ({ name: 'ok-name', seatMode: 'shared' }), 400, 'invalid_request'],
      ['/v1/admin/products', 'a lease as a string', () => ({ name: 'ok-name', leaseSeconds: '600' }), 400, 'invalid_request'],
      ['/v1/admin/products', 'a lease under a minute', () => ({ name: 'ok-name', leaseSeconds: 59 }), 400, 'invalid_request'],
      ['/v1/admin/products', 'a fractional lease', () => ({ name: 'ok-name', leaseSeconds: 600.5 }), 400, 'invalid_request'],
      ['/v1/admin/products', 'a heartbeat under 10 s', () => ({ name: 'ok-name', heartbeatIntervalSeconds: 9 }), 400, 'invalid_request'],
      ['/v1/admin/products', 'an unknown match strategy', () => ({ name: 'ok-name', matchStrategy: 'psychic' }), 400, 'invalid_request'],
      // POST /v1/admin/codes
      ['/v1/admin/codes', 'an empty object', () => ({}), 400, 'invalid_request'],
      ['/v1/admin/codes', 'a missing product', () => ({ seats: 1, days: 1 }), 400, 'invalid_request'],
      ['/v1/admin/codes', 'a missing seat count', () => ({ product, days: 1 }), 400, 'invalid_request'],
      ['/v1/admin/codes', 'seats as a string', () => ({ product, seats: '1', days: 1 }), 400, 'invalid_request'],
      ['/v1/admin/codes', 'seats as a boolean', () => ({ product, seats: true, days: 1 }), 400, 'invalid_request'],
      ['/v1/admin/codes', 'zero seats', () => ({ product, seats: 0, days: 1 }), 400, 'invalid_request'],
      ['/v1/admin/codes', '100 001 seats', () => ({ product, seats: 100_001, days: 1 }), 400, 'invalid_request'],
      ['/v1/admin/codes', 'a huge number of seats', () => JSON.parse(`{"product":"${product}","seats":1e400,"days":1}`), 400, 'invalid_request'],
      ['/v1/admin/codes', 'zero days', () => ({ product, seats: 1, days: 0 }), 400, 'invalid_request'],
      ['/v1/admin/codes', '36 501 days', () => ({ product, seats: 1, days: 36_501 }), 400, 'invalid_request'],
      ['/v1/admin/codes', 'days as a string', () => ({ product, seats: 1, days: '30' }), 400, 'invalid_request'],
      ['/v1/admin/codes', 'an expiry in words', () => ({ product, seats: 1, expiresAt: 'next tuesday' }), 400, 'invalid_request'],
      ['/v1/admin/codes', 'an expiry without a zone', () => ({ product, seats: 1, expiresAt: '2099-01-01T00:00:00' }), 400, 'invalid_request'],
      ['/v1/admin/codes', 'an impossible date', () => ({ product, seats: 1, expiresAt: '2099-13-45T00:00:00Z' }), 400, 'invalid_request'],
      ['/v1/admin/codes', 'an expiry as a number', () => ({ product, seats: 1, expiresAt: 4_102_444_800_000 }), 400, 'invalid_request'],
      ['/v1/admin/codes', 'features as a string', () => ({ product, seats: 1, days: 1, features: 'pro' }), 400, 'invalid_request'],
      ['/v1/admin/codes', 'an empty feature', () => ({ product, seats: 1, days: 1, features: [''] }), 400, 'invalid_request'],
      [
        '/v1/admin/codes',
        '101 features',
        () => ({ product, seats: 1, days: 1, features: Array.from({ length: 101 }, (_, i) => `f${i}`) }),
        400,
        'invalid_request',
      ],
      ['/v1/admin/codes', 'metadata as an array', () => ({ product, seats: 1, days: 1, metadata: [1] }), 400, 'invalid_request'],
      ['/v1/admin/codes', 'metadata nested 17 deep', () => ({ product, seats: 1, days: 1, metadata: { x: JSON.parse(nested(16)) } }), 400, 'invalid_request'],
      [
        '/v1/admin/codes',
        'metadata nested 5 000 deep',
        () => new Raw(`{"product":"${product}","seats":1,"days":1,"metadata":{"x":${nested(5_000)}}}`),
        400,
        'invalid_request',
      ],
      [
        '/v1/admin/codes',
        'metadata nested 30 000 deep',
        () => new Raw(`{"product":"${product}","seats":1,"days":1,"metadata":{"x":${nested(30_000)}}}`),
        400,
        'invalid_request',
      ],
      ['/v1/admin/codes', 'a test flag as a string', () => ({ product, seats: 1, days: 1, test: 'yes' }), 400, 'invalid_request'],
      ['/v1/admin/codes', 'an invalid product name', () => ({ product: 'no such product', seats: 1, days: 1 }), 400, 'invalid_request'],
      ['/v1/admin/codes', 'an unknown product', () => ({ product: 'no-such-product', seats: 1, days: 1 }), 404, 'product_not_found'],
      // POST /v1/admin/codes/:code/renew
      ['renew', 'an empty object', () => ({}), 400, 'invalid_request'],
      ['renew', 'days as a string', () => ({ days: '3' }), 400, 'invalid_request'],
      ['renew', 'negative days', () => ({ days: -3 }), 400, 'invalid_request'],
      ['renew', 'an expiry in words', () => ({ expiresAt: 'soon' }), 400, 'invalid_request'],
      ['renew', 'days and an expiry', () => ({ days: 3, expiresAt: '2099-01-01T00:00:00Z' }), 400, 'invalid_request'],
    ];

    for (const [route, what, body, status, errorCode] of CASES) {
      it(`${route}: refuses ${what} with ${status} ${errorCode}`, async () => {
        const path = route === 'renew' ? `/v1/admin/codes/${code}/renew` : route;
        const headers = route.startsWith('/v1/admin') || route === 'renew' ? { ...JSON_TYPE, ...AUTH } : JSON_TYPE;
        assertRefusal(await send('POST', path, encode(body()), headers), status, errorCode);
      });
    }

    it('writes nothing for any refused request', async () => {
      const before = (await admin(server.url, 'GET', '/v1/admin/audit?limit=500')).body.items.length;
      const codes = (await admin(server.url, 'GET', '/v1/admin/codes?limit=500')).body.items.length;
      const products = (await admin(server.url, 'GET', '/v1/admin/products')).body.items.length;
      for (const [route, , body] of CASES) {
        const path = route === 'renew' ? `/v1/admin/codes/${code}/renew` : route;
        await send('POST', path, encode(body()), { ...JSON_TYPE, ...AUTH });
      }
      assert.equal((await admin(server.url, 'GET', '/v1/admin/products')).body.items.length, products);
      assert.equal((await admin(server.url, 'GET', '/v1/admin/codes?limit=500')).body.items.length, codes);
      const after = (await admin(server.url, 'GET', '/v1/admin/audit?limit=500')).body.items;
      // Only the heartbeat with a foreign fingerprint may leave a trace; none of the refusals writes an event.
      assert.equal(after.length, before, JSON.stringify(after.slice(0, after.length - before)));
      const shown = await admin(server.url, 'GET', `/v1/admin/codes/${code}`);
      assert.equal(shown.body.code.status, 'alive');
      assert.equal(shown.body.code.seats, 5);
    });

    describe('deactivating over the client API', () => {
      const del = (id: string, body?: unknown, headers: Record<string, string> = {}) =>
        send(
          'DELETE',
          `/v1/activations/${id}`,
          body === undefined ? undefined : JSON.stringify(body),
          body === undefined ? headers : { ...JSON_TYPE, ...headers },
        );

      it('refuses a malformed activation id in the path', async () => {
        for (const id of ['x', 'not-an-id', 'g'.repeat(36), 'a'.repeat(37), encodeURIComponent('\u0000'.repeat(36)), '%20'.repeat(36)]) {
          assertRefusal(await del(id, { token }), 400, 'invalid_request');
        }
      });

      it('refuses a missing, empty, numeric or oversized proof token', async () => {
        assertRefusal(await del(activationId), 400, 'invalid_request');
        assertRefusal(await del(activationId, {}), 400, 'invalid_request');
        assertRefusal(await del(activationId, { token: '' }), 400, 'invalid_request');
        assertRefusal(await del(activationId, { token: 12345 }), 400, 'invalid_request');
        assertRefusal(await del(activationId, { token: 'x'.repeat(16_385) }), 400, 'invalid_request');
      });

      it('refuses a token that is not a lease token for this activation with 403', async () => {
        for (const bad of ['not.a.jwt', 'x', token.split('.').reverse().join('.'), token.slice(0, -6) + 'AAAAAA']) {
          assertRefusal(await del(activationId, { token: bad }), 403, 'activation_proof_invalid');
          assertRefusal(await del(activationId, undefined, { authorization: `Bearer ${bad}` }), 403, 'activation_proof_invalid');
        }
        assertRefusal(await del(UNKNOWN_ID, { token }), 403, 'activation_proof_invalid');
        const beat = await call(server.url, 'POST', '/v1/heartbeat', { activationId, secret, fingerprint: machine('bad-input') });
        assert.equal(beat.status, 200, 'the activation is still held');
      });
    });
  });

  describe('query strings', () => {
    const QUERIES: Array<[string, number, string]> = [
      ['/v1/admin/codes?status=sleeping', 400, 'invalid_request'],
      ['/v1/admin/codes?status=', 400, 'invalid_request'],
      ['/v1/admin/codes?status=alive&status=frozen', 400, 'invalid_request'],
      ['/v1/admin/codes?test=yes', 400, 'invalid_request'],
      ['/v1/admin/codes?limit=0', 400, 'invalid_request'],
      ['/v1/admin/codes?limit=501', 400, 'invalid_request'],
      ['/v1/admin/codes?limit=-1', 400, 'invalid_request'],
      ['/v1/admin/codes?limit=ten', 400, 'invalid_request'],
      ['/v1/admin/codes?limit=1.5', 400, 'invalid_request'],
      ['/v1/admin/codes?limit=1e400', 400, 'invalid_request'],
      ['/v1/admin/codes?product=no%20such', 400, 'invalid_request'],
      ['/v1/admin/codes?product=no-such-product', 404, 'product_not_found'],
      [`/v1/admin/codes?q=${'A'.repeat(65)}`, 400, 'invalid_request'],
      ['/v1/admin/codes?q=%25%25', 400, 'invalid_request'],
      ['/v1/admin/codes?q=a%00b', 400, 'invalid_request'],
      ['/v1/admin/codes?q=%27%3B%20DROP%20TABLE%20codes%3B--', 400, 'invalid_request'],
      [`/v1/admin/codes?cursor=${'A'.repeat(201)}`, 400, 'invalid_request'],
      ['/v1/admin/audit?limit=0', 400, 'invalid_request'],
      ['/v1/admin/audit?limit=many', 400, 'invalid_request'],
      ['/v1/admin/audit?action=a%00b', 400, 'invalid_request'],
      ['/v1/admin/audit?action=code%20issued', 400, 'invalid_request'],
      [`/v1/admin/audit?action=${'a'.repeat(65)}`, 400, 'invalid_request'],
      ['/v1/admin/audit?entity=a%00b', 400, 'invalid_request'],
      ['/v1/admin/audit?entity=%27%20OR%201%3D1', 400, 'invalid_request'],
      [`/v1/admin/audit?code=${UNKNOWN_CODE}`, 404, 'code_not_found'],
      ['/v1/admin/audit?code=not-a-code', 404, 'code_not_found'],
      ['/v1/admin/audit?code=a%00b', 404, 'code_not_found'],
      [`/v1/admin/audit?code=${'A'.repeat(65)}`, 400, 'invalid_request'],
    ];
    for (const [path, status, errorCode] of QUERIES) {
      it(`refuses GET ${path.length > 90 ? path.slice(0, 90) + '…' : path} with ${status} ${errorCode}`, async () => {
        assertRefusal(await send('GET', path, undefined, AUTH), status, errorCode);
      });
    }

    it('reads a cursor it did not make as the first page, never as an error', async () => {
      for (const list of ['/v1/admin/codes', '/v1/admin/audit']) {
        for (const cursor of ['garbage', '!!!', Buffer.from('x:y').toString('base64url'), Buffer.from('123').toString('base64url')]) {
          const res = await send('GET', `${list}?cursor=${encodeURIComponent(cursor)}`, undefined, AUTH);
          assert.equal(res.status, 200, `${list} cursor ${cursor}: ${res.text}`);
        }
      }
    });

    it('never answers a forged cursor with a 5xx', async () => {
      const forged = [
        Buffer.from('123:\u0000x').toString('base64url'),
        Buffer.from('99999999999999999999999:x').toString('base64url'),
        Buffer.from(`${Number.MAX_SAFE_INTEGER}9:${UNKNOWN_ID}`).toString('base64url'),
      ];
      for (const list of ['/v1/admin/codes', '/v1/admin/audit']) {
        for (const cursor of forged) {
          const res = await send('GET', `${list}?cursor=${cursor}`, undefined, AUTH);
          assert.ok(res.status < 500, `${list} cursor ${Buffer.from(cursor, 'base64url').toString()}: ${res.status} ${res.text}`);
          assertNoInternals(res.text);
        }
      }
    });

    it('ignores unknown query parameters', async () => {
      for (const path of ['/v1/admin/codes?colour=red', '/v1/admin/audit?foo=bar', '/v1/admin/products?x=1', '/v1/admin/keys?x=1']) {
        assert.equal((await send('GET', path, undefined, AUTH)).status, 200, path);
      }
      for (const path of ['/healthz?x=1', '/readyz?x=%00', '/.well-known/jwks.json?kid=%27', '/v1/jwks?x']) {
        const res = await send('GET', path);
        assert.equal(res.status, 200, path);
        assertNoInternals(res.text);
      }
    });
  });

  describe('paths', () => {
    const junk = [
      'x',
      'not-a-code',
      '%00',
      'a%00b',
      '%20',
      '..%2F..%2Fetc%2Fpasswd',
      '%F0%9F%98%80',
      'A'.repeat(4_000),
      `${UNKNOWN_CODE}%00`,
      "'%20OR%20'1'%3D'1",
    ];

    it('answers 404 code_not_found for any malformed code in a code path', async () => {
      for (const ref of junk) {
        for (const [method, suffix] of [
          ['GET', ''],
          ['GET', '/activations'],
          ['POST', '/freeze'],
          ['POST', '/unfreeze'],
          ['POST', '/release'],
        ] as const) {
          assertRefusal(await send(method, `/v1/admin/codes/${ref}${suffix}`, undefined, AUTH), 404, 'code_not_found');
        }
        assertRefusal(await send('POST', `/v1/admin/codes/${ref}/renew`, JSON.stringify({ days: 1 }), { ...AUTH, ...JSON_TYPE }), 404, 'code_not_found');
      }
    });

    it('refuses a malformed activation id in an admin path with invalid_request', async () => {
      for (const id of junk) {
        assertRefusal(await send('GET', `/v1/admin/activations/${id}`, undefined, AUTH), 400, 'invalid_request');
        assertRefusal(await send('DELETE', `/v1/admin/activations/${id}`, undefined, AUTH), 400, 'invalid_request');
      }
    });

    it('refuses a product name that cannot exist with invalid_request, and an unknown one with 404', async () => {
      for (const name of junk.filter((n) => n !== 'x' && n !== 'not-a-code')) {
        assertRefusal(await send('GET', `/v1/admin/products/${name}`, undefined, AUTH), 400, 'invalid_request');
      }
      assertRefusal(await send('GET', '/v1/admin/products/not-a-product', undefined, AUTH), 404, 'product_not_found');
    });

    it('refuses a path that is not valid percent-encoding with 400 malformed_path', async () => {
      for (const path of [
        '/v1/admin/codes/%E0%A4%A',
        '/v1/admin/codes/%zz/freeze',
        '/v1/admin/products/%C3%28',
        '/v1/admin/activations/%',
        '/v1/admin/codes/%FF/activations',
      ]) {
        assertRefusal(await send(path.endsWith('freeze') ? 'POST' : 'GET', path, undefined, AUTH), 400, 'malformed_path');
      }
      assertRefusal(await send('DELETE', '/v1/activations/%E0%A4%A', JSON.stringify({ token }), JSON_TYPE), 400, 'malformed_path');
    });

    it('accepts the same code in any typed form in a path', async () => {
      for (const ref of [code.toLowerCase(), code.replace(/-/g, ''), encodeURIComponent(` ${code} `), codeId, codeId.toUpperCase()]) {
        const res = await send('GET', `/v1/admin/codes/${ref}`, undefined, AUTH);
        assert.equal(res.status, 200, `${ref}: ${res.text}`);
      }
    });
  });

  describe('unknown routes', () => {
    const UNKNOWN: Array<[string, string]> = [
      ['GET', '/'],
      ['GET', '/v1'],
      ['GET', '/v1/activation'],
      ['GET', '/v1/activations'],
      ['PUT', '/v1/activations'],
      ['PATCH', '/v1/heartbeat'],
      ['GET', '/v1/heartbeat'],
      ['POST', '/healthz'],
      ['DELETE', '/readyz'],
      ['POST', '/.well-known/jwks.json'],
      ['GET', '/.well-known/openid-configuration'],
      ['GET', '/v2/activations'],
      ['GET', '/%2e%2e/etc/passwd'],
      ['GET', `/${'x'.repeat(4_000)}`],
    ];
    for (const [method, path] of UNKNOWN) {
      it(`answers ${method} ${path.slice(0, 40)} with 404 route_not_found in JSON`, async () => {
        const res = await send(method, path, method === 'GET' || method === 'DELETE' ? undefined : '{}', JSON_TYPE);
        assertRefusal(res, 404, 'route_not_found');
      });
    }

    it('answers unknown admin routes with 401 without the token and 404 route_not_found with it', async () => {
      for (const [method, path] of [
        ['GET', '/v1/admin'],
        ['GET', '/v1/admin/machines'],
        ['PUT', '/v1/admin/products'],
        ['DELETE', `/v1/admin/codes/${code}`],
        ['POST', '/v1/admin/keys'],
      ]) {
        assertRefusal(await send(method!, path!), 401, 'admin_token_required');
        assertRefusal(await send(method!, path!, undefined, AUTH), 404, 'route_not_found');
      }
    });
  });

  describe('the read-only routes', () => {
    for (const path of ['/healthz', '/readyz', '/.well-known/jwks.json', '/v1/jwks']) {
      it(`answers GET ${path} with JSON and ignores junk headers`, async () => {
        const res = await send('GET', path, undefined, { 'content-type': 'text/plain', 'x-request-id': '<script>', authorization: 'Bearer junk' });
        assert.equal(res.status, 200, res.text);
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
        assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, 'an unsafe request id is replaced');
        assertNoInternals(res.text);
        assert.doesNotMatch(res.text, /PRIVATE|"d"\s*:/);
      });
    }
  });
});
