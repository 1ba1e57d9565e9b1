import { strict as assert } from 'node:assert';
import { createHmac, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { exportJWK, SignJWT } from 'jose';
import { LicenseClient, storePaths } from '@licensor/client';
import { jwkThumbprint, verifyCompactJws } from '@licensor/client/contract';
import { DAY, HOUR } from './support/clock';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';
import { clientOf, deadFetch, FINGERPRINT_KEY, issueCode, Machines, publishedKeys, readStore, StoreDirs, storeWithToken } from './support/license-clients';

const b64 = (value: string | Buffer | object) =>
  Buffer.from(typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value)).toString('base64url');

function parts(token: string): { header: Record<string, unknown>; payload: Record<string, any>; signature: string; segments: string[] } {
  const segments = token.split('.');
  return {
    header: JSON.parse(Buffer.from(segments[0]!, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(segments[1]!, 'base64url').toString()),
    signature: segments[2]!,
    segments,
  };
}

function signEd25519(header: object, payload: object, key: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

describe('the client under attack', () => {
  let server: TestServer;
  const machines = new Machines();
  const dirs = new StoreDirs();
  const product = 'client-attacked';
  let storeDir: string;
  let token: string;
  let pinned: { keys: Record<string, unknown>[] };

  before(async () => {
    server = await startTestServer('sqlite');
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
    pinned = await publishedKeys(server);
    storeDir = dirs.make();
    const client = await clientOf(server, product, machines.source('nvme-bare-metal'), storeDir);
    assert.equal((await client.activate(await issueCode(server, product, 1))).valid, true);
    token = readStore(storeDir, product).token;
  });
  after(async () => {
    await server?.close();
    machines.remove();
    dirs.remove();
  });

  /** A restarted client on the genuine machine whose store holds `forged` instead of the real token. */
  async function checkWith(forged: string, options: Parameters<typeof clientOf>[4] = {}) {
    const dir = dirs.make();
    storeWithToken(storeDir, dir, product, forged);
    const client = await clientOf(server, product, machines.source('nvme-bare-metal'), dir, { publicKeys: pinned, ...options });
    return client.check();
  }

  it('the genuine token checks valid (the baseline of every case below)', async () => {
    assert.equal((await checkWith(token)).valid, true);
  });

  describe('forged tokens', () => {
    it('refuses alg "none" with an empty signature', async () => {
      const { payload, header } = parts(token);
      const forged = `${b64({ ...header, alg: 'none' })}.${b64(payload)}.`;
      const result = await checkWith(forged);
      assert.equal(result.reason, 'bad_signature');
      assert.equal(result.valid, false);
    });

    it('refuses alg "none" carrying the genuine signature', async () => {
      const { payload, header, signature } = parts(token);
      assert.equal((await checkWith(`${b64({ ...header, alg: 'none' })}.${b64(payload)}.${signature}`)).reason, 'bad_signature');
    });

    it('refuses HS256 signed with the public key as the HMAC secret', async () => {
      const { payload, header } = parts(token);
      const jwk = pinned.keys[0]!;
      const raw = Buffer.from(jwk.x as string, 'base64url');
      const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      for (const secret of [raw, Buffer.from(pem), Buffer.from(JSON.stringify(jwk))]) {
        const input = `${b64({ ...header, alg: 'HS256' })}.${b64(payload)}`;
        const forged = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
        const result = await checkWith(forged);
        assert.equal(result.reason, 'bad_signature');
        assert.match((result as { detail?: string }).detail!, /algorithm/);
      }
    });

    it('refuses a token with one payload byte flipped', async () => {
      const { segments } = parts(token);
      const bytes = Buffer.from(segments[1]!, 'base64url');
      // Turn one seat into nine: a byte inside the JSON, so it still parses.
      const at = bytes.indexOf('"seats":1') + 8;
      bytes[at] = '9'.charCodeAt(0);
      const forged = `${segments[0]}.${bytes.toString('base64url')}.${segments[2]}`;
      assert.equal(JSON.parse(bytes.toString()).license.seats, 9);
      assert.equal((await checkWith(forged)).reason, 'bad_signature');
    });

    it('refuses a token with a flipped signature bit, or a truncated one', async () => {
      const { segments } = parts(token);
      const sig = Buffer.from(segments[2]!, 'base64url');
      sig[10]! ^= 0x01;
      assert.equal((await checkWith(`${segments[0]}.${segments[1]}.${sig.toString('base64url')}`)).reason, 'bad_signature');
      assert.equal((await checkWith(token.slice(0, -4))).reason, 'bad_signature');
    });

    it('refuses an unknown kid, without going to the network even with jwksUrl set', async () => {
      const { payload } = parts(token);
      const stranger = generateKeyPairSync('ed25519');
      const kid = jwkThumbprint(stranger.publicKey.export({ format: 'jwk' }));
      const forged = signEd25519({ alg: 'EdDSA', kid, typ: 'JWT' }, payload, stranger.privateKey);
      const network = deadFetch();
      const result = await checkWith(forged, { jwksUrl: `${server.url}/.well-known/jwks.json`, fetch: network });
      assert.equal(result.reason, 'bad_signature');
      assert.match((result as { detail?: string }).detail!, /kid/);
      assert.equal(network.calls, 0, 'check() never fetches');
    });

    it('refuses the genuine key announced with another algorithm (ES256 header on an Ed25519 key)', async () => {
      const { payload, header, signature } = parts(token);
      const forged = `${b64({ ...header, alg: 'ES256' })}.${b64(payload)}.${signature}`;
      assert.equal((await checkWith(forged, { algorithms: ['EdDSA', 'ES256'] })).reason, 'bad_signature');
    });

    it('refuses JWS forms other than compact: padding, JSON serialization, extra parts, crit headers', async () => {
      const { segments, header, payload } = parts(token);
      const stranger = generateKeyPairSync('ed25519');
      for (const forged of [
        `${segments[0]}.${segments[1]}.${segments[2]}=`,
        `${token}.${segments[2]}`,
        JSON.stringify({ protected: segments[0], payload: segments[1], signature: segments[2] }),
        'x'.repeat(20_000),
        signEd25519({ ...header, crit: ['exp'], exp: 1 }, payload, stranger.privateKey),
      ]) {
        assert.equal((await checkWith(forged)).reason, 'bad_signature', forged.slice(0, 40));
      }
    });

    it('refuses a genuine token of another product as wrong_product', async () => {
      const other = `${product}-other`;
      await admin(server.url, 'POST', '/v1/admin/products', { name: other });
      const code = await issueCode(server, other, 1);
      // Activated with this machine's real fingerprint hashes, through the raw client API.
      const mine = readStore(storeDir, product).token;
      const res = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: parts(mine).payload.activation.fingerprint });
      assert.equal(res.status, 201, res.text);
      const result = await checkWith(res.body.token);
      assert.equal(result.reason, 'wrong_product');
      assert.equal(result.valid, false);
    });

    it('refuses a token of another issuer as wrong_issuer', async () => {
      const { payload } = parts(token);
      const vendor = generateKeyPairSync('ed25519');
      const kid = jwkThumbprint(vendor.publicKey.export({ format: 'jwk' }));
      const forged = signEd25519({ alg: 'EdDSA', kid }, { ...payload, iss: 'someone-else' }, vendor.privateKey);
      assert.equal((await checkWith(forged, { publicKeys: [vendor.publicKey] })).reason, 'wrong_issuer');
    });
  });

  describe('a token copied to another machine', () => {
    it('fails the fingerprint match there', async () => {
      const dir = dirs.make();
      storeWithToken(storeDir, dir, product, token);
      const elsewhere = await clientOf(server, product, machines.source('vm-virtio'), dir, { publicKeys: pinned });
      const result = elsewhere.check();
      assert.equal(result.valid, false);
      assert.equal(result.reason, 'fingerprint_mismatch');
      // The license facts are still shown, so the application can say which license it is.
      assert.equal(result.seats, 1);
    });

    it('and the server refuses its heartbeat too, which changes nothing locally', async () => {
      const dir = dirs.make();
      storeWithToken(storeDir, dir, product, token);
      const elsewhere = await clientOf(server, product, machines.source('vm-virtio'), dir, { publicKeys: pinned });
      const beat = await elsewhere.heartbeat();
      assert.equal(beat.outcome, 'refused');
      assert.equal((beat.error as { code?: string }).code, 'fingerprint_mismatch');
      assert.equal(beat.license.reason, 'fingerprint_mismatch');
    });
  });

  describe('the clock', () => {
    it('moved back a day is clock_tampered, also after a restart, and fine again once corrected', async () => {
      const dir = dirs.make();
      const code = await issueCode(server, product, 1);
      const real = () => server.clock.now();
      let offset = 0;
      const clock = () => real() + offset;
      const client = await clientOf(server, product, machines.source('md-raid-udev'), dir, { clock });
      assert.equal((await client.activate(code)).valid, true);
      server.clock.advance(HOUR);
      assert.equal(client.check().valid, true);

      offset = -DAY;
      const tampered = client.check();
      assert.equal(tampered.valid, false);
      assert.equal(tampered.reason, 'clock_tampered');

      const restarted = await clientOf(server, product, machines.source('md-raid-udev'), dir, { clock, fetch: deadFetch() });
      assert.equal(restarted.check().reason, 'clock_tampered');

      offset = 0;
      assert.equal(client.check().valid, true);
      assert.equal(restarted.check().valid, true);
    });

    it('jumped three years ahead once, then corrected: recovers at the next heartbeat, and stays recovered after a restart', async () => {
      const dir = dirs.make();
      const code = await issueCode(server, product, 1);
      let offset = 0;
      const clock = () => server.clock.now() + offset;
      const client = await clientOf(server, product, machines.source('sata-lvm'), dir, { clock });
      assert.equal((await client.activate(code)).valid, true);

      offset = 3 * 365 * DAY;
      assert.equal(client.check().valid, false, 'three years ahead the lease has run out');
      offset = 0;
      assert.equal(client.check().reason, 'clock_tampered', 'the mark remembers the time seen');
      // The mark is written in the background: wait until the file says so.
      const clockFile = storePaths(dir, product).clock;
      const markOf = () => (existsSync(clockFile) ? JSON.parse(readFileSync(clockFile, 'utf8')).highWater : 0);
      for (const deadline = Date.now() + 5000; markOf() < server.clock.now() + 365 * DAY && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 10));
      const restartedBefore = await clientOf(server, product, machines.source('sata-lvm'), dir, { clock, fetch: deadFetch() });
      assert.equal(restartedBefore.check().reason, 'clock_tampered', 'and a restart alone does not forget it');

      // The server's own time, in a token answering this client's nonce, re-anchors the mark.
      const beat = await client.heartbeat();
      assert.equal(beat.outcome, 'renewed', String(beat.error));
      assert.equal(client.check().valid, true);
      const restartedAfter = await clientOf(server, product, machines.source('sata-lvm'), dir, { clock, fetch: deadFetch() });
      assert.equal(restartedAfter.check().valid, true);
    });

    it('a cached valid answer does not survive a clock set back, nor the lease end', async () => {
      let now = server.clock.now();
      const dir = dirs.make();
      storeWithToken(storeDir, dir, product, token);
      const client = await clientOf(server, product, machines.source('nvme-bare-metal'), dir, { publicKeys: pinned, clock: () => now });
      const valid = client.check();
      assert.equal(valid.valid, true);
      assert.equal(client.check(), valid, 'the same frozen answer while nothing changed');
      now -= 2 * HOUR;
      assert.equal(client.check().reason, 'clock_tampered');
      now = valid.leaseEndsAt!.getTime() + HOUR;
      assert.equal(client.check().reason, 'lease_expired');
    });
  });

  describe('the store file', () => {
    const cases: Array<[string, (file: string, text: string) => void, RegExp]> = [
      ['truncated', (file, text) => writeFileSync(file, text.slice(0, text.length / 2)), /not valid JSON/],
      ['empty', (file) => writeFileSync(file, ''), /not valid JSON/],
      ['random bytes', (file) => writeFileSync(file, Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 97) % 256))), /not valid JSON/],
      ['JSON of another shape', (file) => writeFileSync(file, '[1,2,3]'), /not a license store of this product/],
      ['a directory', (file) => mkdirSync(file), /cannot be read: EISDIR/],
      ['larger than 256 KiB', (file, text) => writeFileSync(file, text + ' '.repeat(256 * 1024)), /too large/],
      [
        "another product's store",
        (file, text) => writeFileSync(file, JSON.stringify({ ...JSON.parse(text), product: `${product}-other` })),
        /not a license store of this product/,
      ],
      ['without its MAC', (file, text) => writeFileSync(file, JSON.stringify({ ...JSON.parse(text), mac: undefined })), /lacks its token, state or MAC/],
    ];

    for (const [name, damage, detail] of cases) {
      it(`gives store_corrupt when it is ${name}, and nothing throws`, async () => {
        const dir = dirs.make();
        const file = storePaths(dir, product).license;
        const text = JSON.stringify(readStore(storeDir, product));
        if (name !== 'a directory') writeFileSync(file, text);
        damage(file, text);
        const client = await clientOf(server, product, machines.source('nvme-bare-metal'), dir, { publicKeys: pinned });
        const result = client.check();
        assert.equal(result.valid, false);
        assert.equal(result.reason, 'store_corrupt');
        assert.match((result as { detail?: string }).detail!, detail);
        assert.equal((await client.heartbeat()).outcome, 'no_license');
      });
    }

    it('gives store_corrupt when a "released" mark was edited out, and nothing throws', async () => {
      const dir = dirs.make();
      const code = await issueCode(server, product, 1);
      const client = await clientOf(server, product, machines.source('sata-lvm'), dir);
      await client.activate(code);
      await admin(server.url, 'POST', `/v1/admin/codes/${code}/release`);
      assert.equal((await client.heartbeat()).license.reason, 'released');
      const file = storePaths(dir, product).license;
      const json = readStore(dir, product);
      assert.equal(json.state.revoked, 'released');
      writeFileSync(file, JSON.stringify({ ...json, state: { ...json.state, revoked: null } }));
      const restarted = await clientOf(server, product, machines.source('sata-lvm'), dir);
      assert.equal(restarted.check().reason, 'store_corrupt');
    });

    it('gives no_license when the store directory does not exist', () => {
      const client = new LicenseClient({ product, storeDir: '/nonexistent/licensor', fingerprintKey: FINGERPRINT_KEY, publicKeys: pinned });
      assert.equal(client.check().reason, 'no_license');
    });

    it('gives fingerprint_unavailable when the fingerprint cannot be read, without throwing', async () => {
      const result = await checkWith(token, {
        fingerprintSource: () => {
          throw new Error('licensor: the native fingerprint addon is not available');
        },
      });
      assert.equal(result.reason, 'fingerprint_unavailable');
    });
  });
});

describe('the verification primitive', () => {
  // RFC 8037 appendix A.1/A.2 key and A.4 signature over "Example of Ed25519 signing".
  const rfcKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }, format: 'jwk' });
  const rfcJws =
    'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.' + 'hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg';
  const eddsaOnly = new Set(['EdDSA']);

  it('accepts the RFC 8037 Ed25519 example with the RFC public key', () => {
    const result = verifyCompactJws(rfcJws, eddsaOnly, () => ({ alg: 'EdDSA', key: rfcKey }));
    assert.equal(result.ok, true);
    assert.deepEqual(result.ok && result.header, { alg: 'EdDSA' });
    assert.equal(result.ok && result.payload.toString(), 'Example of Ed25519 signing');
  });

  it('refuses the RFC example with another key, a changed payload, or EdDSA not allowed', () => {
    const other = generateKeyPairSync('ed25519').publicKey;
    assert.deepEqual(
      verifyCompactJws(rfcJws, eddsaOnly, () => ({ alg: 'EdDSA', key: other })),
      { ok: false, failure: 'bad_signature' },
    );
    const changed = rfcJws.replace('RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc', b64('Example of Ed25519 signinG'));
    assert.deepEqual(
      verifyCompactJws(changed, eddsaOnly, () => ({ alg: 'EdDSA', key: rfcKey })),
      { ok: false, failure: 'bad_signature' },
    );
    assert.deepEqual(
      verifyCompactJws(rfcJws, new Set(['ES256']), () => ({ alg: 'EdDSA', key: rfcKey })),
      { ok: false, failure: 'alg_not_allowed' },
    );
  });

  it('agrees with jose: ES256 tokens signed by jose verify when ES256 is allowed, and only then', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = await exportJWK(pair.publicKey);
    const kid = jwkThumbprint(jwk as never);
    const jws = await new SignJWT({ hello: 'world' }).setProtectedHeader({ alg: 'ES256', kid }).sign(pair.privateKey);
    const key = { alg: 'ES256' as const, key: pair.publicKey };
    const allowed = verifyCompactJws(jws, new Set(['EdDSA', 'ES256']), (h) => (h.kid === kid ? key : undefined));
    assert.equal(allowed.ok && JSON.parse(allowed.payload.toString()).hello, 'world');
    assert.deepEqual(
      verifyCompactJws(jws, eddsaOnly, () => key),
      { ok: false, failure: 'alg_not_allowed' },
    );
  });
});
