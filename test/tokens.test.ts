import { strict as assert } from 'node:assert';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { DAY } from './support/clock';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';

async function verifyWithJwks(server: TestServer, token: string, audience: string) {
  const jwks = await call(server.url, 'GET', '/.well-known/jwks.json');
  return jwtVerify(token, createLocalJWKSet(jwks.body), {
    issuer: 'licensor',
    audience,
    algorithms: ['EdDSA', 'ES256'],
    currentDate: new Date(server.clock.now()),
  });
}

forEachEngine('lease tokens', (engine) => {
  let server: TestServer;
  const product = `tokens-${engine}`;

  before(async () => {
    server = await startTestServer(engine);
    await admin(server.url, 'POST', '/v1/admin/products', { name: product, leaseSeconds: 3600, heartbeatIntervalSeconds: 600 });
  });
  after(async () => server?.close());

  async function activate(name: string, days = 30, features = ['pro']) {
    const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 3, days, features });
    const res = await call(server.url, 'POST', '/v1/activations', { code: issued.body.code.code, fingerprint: machine(name) });
    assert.equal(res.status, 201, res.text);
    return { issued: issued.body.code, res: res.body };
  }

  it('are EdDSA JWTs with a kid that the published JWKS verifies (checked with jose)', async () => {
    const { res } = await activate('jwks');
    const header = decodeProtectedHeader(res.token);
    assert.deepEqual(header, { alg: 'EdDSA', kid: header.kid, typ: 'JWT' });
    const { payload } = await verifyWithJwks(server, res.token, product);
    assert.equal(payload.iss, 'licensor');
  });

  it('carry the license facts, the machine and the heartbeat interval', async () => {
    const { issued, res } = await activate('claims');
    const { payload } = await verifyWithJwks(server, res.token, product);
    const now = Math.floor(server.clock.now() / 1000);
    assert.equal(payload.aud, product);
    assert.equal(payload.sub, issued.id);
    assert.match(payload.jti!, /^[0-9a-f-]{36}$/);
    assert.equal(payload.iat, now);
    assert.equal(payload.nbf, now);
    assert.equal(payload.exp, now + 3600);
    assert.deepEqual(payload.license, {
      status: 'alive',
      expiresAt: Math.floor(Date.parse(issued.expiresAt) / 1000),
      seats: 3,
      features: ['pro'],
      seatMode: 'node_locked',
    });
    assert.deepEqual(payload.activation, { id: res.activation.id, fingerprint: machine('claims') });
    assert.deepEqual(payload.heartbeat, { intervalSeconds: 600 });
  });

  it('end at the license expiry when that comes before the lease end', async () => {
    const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 1, expiresAt: new Date(server.clock.now() + 60_000).toISOString() });
    const res = await call(server.url, 'POST', '/v1/activations', { code: issued.body.code.code, fingerprint: machine('brief') });
    const { payload } = await verifyWithJwks(server, res.body.token, product);
    assert.equal(payload.exp, Math.floor(Date.parse(issued.body.code.expiresAt) / 1000));
  });

  it('keep verifying after a key rotation, while new tokens use the new key', async () => {
    const before = await activate('rotation');
    const oldKid = decodeProtectedHeader(before.res.token).kid;
    const rotated = await admin(server.url, 'POST', '/v1/admin/keys/rotate');
    assert.equal(rotated.status, 201, rotated.text);
    assert.notEqual(rotated.body.current.kid, oldKid);
    await verifyWithJwks(server, before.res.token, product);
    const beat = await call(server.url, 'POST', '/v1/heartbeat', {
      activationId: before.res.activation.id,
      secret: before.res.activation.secret,
      fingerprint: machine('rotation'),
    });
    assert.equal(decodeProtectedHeader(beat.body.token).kid, rotated.body.current.kid);
    await verifyWithJwks(server, beat.body.token, product);
    const jwks = await call(server.url, 'GET', '/.well-known/jwks.json');
    assert.deepEqual(jwks.body.keys.map((k: { kid: string }) => k.kid).sort(), [oldKid, rotated.body.current.kid].sort());
  });

  it('drop a retired key from the JWKS only after every token it signed has expired', async () => {
    const keys = await admin(server.url, 'GET', '/v1/admin/keys');
    const retired = keys.body.items.find((k: { status: string }) => k.status === 'retired');
    assert.ok(retired, 'a retired key from the rotation above');
    assert.ok(retired.publishUntil - retired.retiredAt >= 366 * DAY);
    server.clock.advance(retired.publishUntil - server.clock.now() + 1);
    const jwks = await call(server.url, 'GET', '/.well-known/jwks.json');
    assert.ok(!jwks.body.keys.some((k: { kid: string }) => k.kid === retired.kid));
  });

  it('never publish or answer with private key material', async () => {
    for (const path of ['/.well-known/jwks.json', '/v1/jwks']) {
      const res = await call(server.url, 'GET', path);
      for (const key of res.body.keys) assert.equal(key.d, undefined);
      assert.doesNotMatch(res.text, /PRIVATE/);
    }
    const keys = await admin(server.url, 'GET', '/v1/admin/keys');
    assert.doesNotMatch(keys.text, /PRIVATE|privateKey|"d":/);
  });
});

describe('lease tokens signed with ES256 when so configured', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('sqlite', { LICENSOR_KEY_ALG: 'ES256' });
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'es' });
  });
  after(async () => server?.close());

  it('verify with jose against the published P-256 key', async () => {
    const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product: 'es', seats: 1, days: 3 });
    const res = await call(server.url, 'POST', '/v1/activations', { code: issued.body.code.code, fingerprint: machine('es') });
    assert.equal(decodeProtectedHeader(res.body.token).alg, 'ES256');
    const { payload } = await verifyWithJwks(server, res.body.token, 'es');
    assert.equal(payload.aud, 'es');
  });
});
