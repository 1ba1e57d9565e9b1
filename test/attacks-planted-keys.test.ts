import { strict as assert } from 'node:assert';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { importPublicKey, LICENSE_FILE_FORMAT, signEndorsement } from '@licensor/client/contract';
import { storePaths } from '@licensor/client';
import { HOUR } from './support/clock';
import { startTestServer, type TestServer } from './support/harness';
import { admin } from './support/http';
import { claimsOf, clientOf, deadFetch, issueCode, Machines, plantStore, readStore, StoreDirs } from './support/license-clients';

/** A key of the pirate's own, with its public JWK as a client would import it. */
function pirateKey(): { privateKey: KeyObject; kid: string; jwk: Record<string, unknown> } {
  const pair = generateKeyPairSync('ed25519');
  const trusted = importPublicKey(pair.publicKey, false);
  return { privateKey: pair.privateKey, kid: trusted.kid, jwk: { ...trusted.jwk } };
}

/** A token the pirate signs: the genuine claims, with 9,999 seats until 2037. */
function forgedLicense(genuine: string, key: { privateKey: KeyObject; kid: string }): string {
  const claims = claimsOf(genuine);
  const payload = { ...claims, exp: Date.UTC(2037, 0, 1) / 1000, license: { ...claims.license, seats: 9999, expiresAt: Date.UTC(2037, 0, 1) / 1000 } };
  const input = `${Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${sign(null, Buffer.from(input), key.privateKey).toString('base64url')}`;
}

/**
 * The attack review's second and third findings (docs/security.md "Keys and rotation"): a client
 * trusted a key planted in its own store (the store's MAC key ships in the application), and a
 * jwksUrl answered by whoever owns the network introduced keys. A client now trusts its pinned
 * keys and keys endorsed through a chain from them, and nothing else.
 */
describe('attack: keys planted in the client’s files or served from the network', () => {
  let server: TestServer;
  const machines = new Machines();
  const dirs = new StoreDirs();
  const product = 'planted';
  let storeDir: string;
  let genuine: string;

  before(async () => {
    server = await startTestServer('sqlite');
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
    storeDir = dirs.make();
    const client = await clientOf(server, product, machines.source('vm-virtio'), storeDir);
    assert.equal((await client.activate(await issueCode(server, product, 1))).valid, true);
    genuine = readStore(storeDir, product).token;
  });
  after(async () => {
    await server?.close();
    machines.remove();
    dirs.remove();
  });

  const restarted = async (dir: string, options: Parameters<typeof clientOf>[4] = {}) =>
    (await clientOf(server, product, machines.source('vm-virtio'), dir, { fetch: deadFetch(), ...options })).check();

  it('a key added to the store in the old learnedKeys list, MAC recomputed, adds nothing', async () => {
    const pirate = pirateKey();
    const dir = dirs.make();
    plantStore(dir, product, forgedLicense(genuine, pirate), { learnedKeys: [pirate.jwk] });
    const result = await restarted(dir);
    assert.equal(result.valid, false);
    assert.equal(result.reason, 'bad_signature');
  });

  it('an endorsement of the pirate’s key signed by the pirate’s key (or any key not chained to a pinned one) adds nothing', async () => {
    const pirate = pirateKey();
    const accomplice = pirateKey();
    const dir = dirs.make();
    const endorsements = [
      signEndorsement({ kid: pirate.kid, alg: 'EdDSA', privateKey: pirate.privateKey }, pirate.jwk, 1),
      signEndorsement({ kid: accomplice.kid, alg: 'EdDSA', privateKey: accomplice.privateKey }, pirate.jwk, 1),
    ];
    plantStore(dir, product, forgedLicense(genuine, pirate), { endorsements });
    assert.equal((await restarted(dir)).reason, 'bad_signature');
  });

  it('an endorsement claiming a pinned key’s kid for the pirate’s key adds nothing', async () => {
    const pirate = pirateKey();
    const pinnedKid = kidOf(genuine);
    const dir = dirs.make();
    const endorsement = signEndorsement({ kid: pirate.kid, alg: 'EdDSA', privateKey: pirate.privateKey }, { ...pirate.jwk, kid: pinnedKid }, 1);
    plantStore(dir, product, forgedLicense(genuine, { ...pirate, kid: pinnedKid }), { endorsements: [endorsement] });
    assert.equal((await restarted(dir)).reason, 'bad_signature');
  });

  it('a fake JWKS server (a network the pirate owns) gets no key learned, online or after a restart', async () => {
    const pirate = pirateKey();
    const fakeJwks = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          keys: [pirate.jwk],
          endorsements: [signEndorsement({ kid: pirate.kid, alg: 'EdDSA', privateKey: pirate.privateKey }, pirate.jwk, 1)],
        }),
      );
    });
    await new Promise<void>((resolve) => fakeJwks.listen(0, '127.0.0.1', resolve));
    try {
      const jwksUrl = `http://127.0.0.1:${(fakeJwks.address() as AddressInfo).port}/.well-known/jwks.json`;
      const dir = dirs.make();
      const client = await clientOf(server, product, machines.source('vm-virtio'), dir, { jwksUrl });
      // A license file signed by the pirate: importing it fetches the (fake) JWKS, which proves nothing.
      const contents = JSON.stringify({ format: LICENSE_FILE_FORMAT, v: 1, product, activationId: 'x', token: forgedLicense(genuine, pirate) });
      await assert.rejects(client.importLicenseFile({ contents }), (err: { code?: string }) => err.code === 'untrusted_key');
      assert.equal(client.check().reason, 'no_license');
      assert.equal((await restarted(dir, { jwksUrl })).reason, 'no_license');
    } finally {
      await new Promise<void>((resolve) => fakeJwks.close(() => resolve()));
    }
  });

  it('leaves the genuine license valid offline throughout', async () => {
    server.clock.advance(HOUR);
    assert.equal((await restarted(storeDir)).valid, true);
    assert.ok(readFileSync(storePaths(storeDir, product).license).length > 0);
  });
});

function kidOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')).kid;
}
