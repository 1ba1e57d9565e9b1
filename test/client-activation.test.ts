import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { LicenseClientError } from '@licensor/client';
import { DAY, HOUR } from './support/clock';
import { forEachEngine } from './support/databases';
import { startTestServer, type TestServer } from './support/harness';
import { altered, ForgingProxy } from './support/forging-proxy';
import { admin } from './support/http';
import { claimsOf, clientOf, deadFetch, issueCode, Machines, publishedKeys, readStore, StoreDirs } from './support/license-clients';

async function rejects(promise: Promise<unknown>, code: string): Promise<LicenseClientError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof LicenseClientError, `expected a LicenseClientError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected a LicenseClientError ${code}`);
}

forEachEngine('the license client against a real server', (engine) => {
  let server: TestServer;
  const machines = new Machines();
  const dirs = new StoreDirs();
  const product = `client-${engine}`;

  before(async () => {
    server = await startTestServer(engine);
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
  });
  after(async () => {
    await server?.close();
    machines.remove();
    dirs.remove();
  });

  describe('activating a machine', () => {
    it('stores a verified lease token and reports the license as valid', async () => {
      const code = await issueCode(server, product, 2, 30, ['pro', 'export']);
      const storeDir = dirs.make();
      const client = await clientOf(server, product, machines.source('nvme-bare-metal'), storeDir);
      assert.equal(client.check().reason, 'no_license');

      const state = await client.activate(code);
      assert.equal(state.valid, true, JSON.stringify(state));
      assert.equal(state.reason, null);
      assert.equal(state.status, 'alive');
      assert.deepEqual(state.features, ['pro', 'export']);
      assert.equal(state.seats, 2);
      assert.ok(state.expiresAt!.getTime() > server.clock.now() + 29 * DAY);
      // Default node-locked lease: 7 days from now.
      assert.equal(state.leaseEndsAt!.getTime(), Math.floor(server.clock.now() / 1000) * 1000 + 7 * DAY);

      // Written through a temp file and a rename: nothing else is left in the directory.
      assert.deepEqual(readdirSync(storeDir).sort(), [`${product}.clock.json`, `${product}.license.json`]);
      // The stored token is the server's, and an independent JOSE implementation accepts it.
      const { token } = readStore(storeDir, product);
      const verified = await jwtVerify(token, createLocalJWKSet((await publishedKeys(server)) as never), {
        issuer: 'licensor',
        audience: product,
        currentDate: new Date(server.clock.now()),
      });
      assert.equal((verified.payload.license as { seats: number }).seats, 2);
    });

    it('gives the same machine its own seat back when it activates again', async () => {
      const code = await issueCode(server, product, 1);
      const storeDir = dirs.make();
      const client = await clientOf(server, product, machines.source('md-raid-udev'), storeDir);
      await client.activate(code);
      const first = claimsOf(readStore(storeDir, product).token).activation.id;
      assert.equal((await client.activate(code)).valid, true);
      assert.equal(claimsOf(readStore(storeDir, product).token).activation.id, first);
    });

    it('turns server refusals into a LicenseClientError carrying the server code', async () => {
      const client = await clientOf(server, product, machines.source('sata-lvm'), dirs.make());
      const unknown = await rejects(client.activate('ABCDE-FGHJK-MNPQR-STVWX-YZ234'), 'code_not_found');
      assert.equal(unknown.status, 404);
      await rejects(client.activate('not a code'), 'malformed_code');
      assert.equal(client.check().reason, 'no_license');
    });

    it('refuses an empty code as invalid_code without asking the server', async () => {
      const network = deadFetch();
      const client = await clientOf(server, product, machines.source('sata-lvm'), dirs.make(), { fetch: network });
      for (const code of ['', '  \t ']) await rejects(client.activate(code), 'invalid_code');
      assert.equal(network.calls, 0);
      assert.equal(client.check().reason, 'no_license');
    });

    it('refuses a code of another product and gives the seat it took back', async () => {
      const other = `${product}-other`;
      await admin(server.url, 'POST', '/v1/admin/products', { name: other });
      const code = await issueCode(server, other, 1);
      const client = await clientOf(server, product, machines.source('nvme-bare-metal'), dirs.make());
      await rejects(client.activate(code), 'wrong_product');
      assert.equal(client.check().reason, 'no_license');
      const seats = await admin(server.url, 'GET', `/v1/admin/codes/${code}/activations`);
      assert.deepEqual(
        seats.body.items.map((a: { status: string }) => a.status),
        ['deactivated'],
      );
    });
  });

  describe('seats', () => {
    it('refuses a machine when every seat is taken, and leaves it unlicensed', async () => {
      const code = await issueCode(server, product, 1);
      const a = await clientOf(server, product, machines.source('nvme-bare-metal'), dirs.make());
      const b = await clientOf(server, product, machines.source('vm-virtio'), dirs.make());
      assert.equal((await a.activate(code)).valid, true);
      const err = await rejects(b.activate(code), 'seat_limit_reached');
      assert.equal(err.status, 409);
      assert.equal(b.check().reason, 'no_license');
      assert.equal(a.check().valid, true);
    });

    it('frees the seat on deactivate, so the code activates on another machine', async () => {
      const code = await issueCode(server, product, 1);
      const aDir = dirs.make();
      const a = await clientOf(server, product, machines.source('nvme-bare-metal'), aDir);
      const b = await clientOf(server, product, machines.source('vm-virtio'), dirs.make());
      await a.activate(code);
      await a.deactivate();
      assert.equal(a.check().reason, 'no_license');
      assert.deepEqual(readdirSync(aDir), [`${product}.clock.json`]);
      assert.equal((await b.activate(code)).valid, true);
      // The first machine's old token proves nothing any more: its seat is gone.
      await rejects(a.deactivate(), 'no_license');
      await rejects(a.activate(code), 'seat_limit_reached');
    });
  });

  describe('restarting the application', () => {
    it('reads the stored token in a new client and checks it with no network at all', async () => {
      const code = await issueCode(server, product, 1);
      const storeDir = dirs.make();
      const first = await clientOf(server, product, machines.source('dmi-root-only'), storeDir);
      const before = await first.activate(code);
      const offline = deadFetch();
      const restarted = await clientOf(server, product, machines.source('dmi-root-only'), storeDir, { fetch: offline });
      const after = restarted.check();
      assert.equal(after.valid, true);
      assert.deepEqual(after, before);
      assert.equal(offline.calls, 0);
    });
  });

  describe('key rotation on the server', () => {
    async function rotate() {
      const res = await admin(server.url, 'POST', '/v1/admin/keys/rotate');
      assert.equal(res.status, 201, res.text);
      return res.body.current.kid as string;
    }

    it('keeps working: the client learns the new key through its endorsement and keeps it for offline checks', async () => {
      const code = await issueCode(server, product, 1);
      const storeDir = dirs.make();
      // What the vendor shipped: the keys published before the rotation.
      const pinned = await publishedKeys(server);
      const client = await clientOf(server, product, machines.source('vm-virtio'), storeDir, { publicKeys: pinned });
      await client.activate(code);
      const newKid = await rotate();

      server.clock.advance(HOUR);
      const beat = await client.heartbeat();
      assert.equal(beat.outcome, 'renewed', String(beat.error));
      assert.equal(beat.license.valid, true);
      assert.equal(decodeProtectedHeader(readStore(storeDir, product).token).kid, newKid);
      assert.equal((readStore(storeDir, product).state.endorsements as string[]).length, 1, 'the store keeps the endorsement, not the key');

      // After a restart, offline: the chain is walked again from the pinned keys.
      const offline = deadFetch();
      const restarted = await clientOf(server, product, machines.source('vm-virtio'), storeDir, { publicKeys: pinned, fetch: offline });
      assert.equal(restarted.check().valid, true);
      assert.equal(offline.calls, 0);
    });

    it('catches up after three rotations it was offline for, from the key it shipped with', async () => {
      const code = await issueCode(server, product, 1);
      const storeDir = dirs.make();
      const pinned = await publishedKeys(server);
      const client = await clientOf(server, product, machines.source('sata-lvm'), storeDir, { publicKeys: pinned });
      await client.activate(code);
      for (let i = 0; i < 3; i++) await rotate();
      server.clock.advance(HOUR);
      const beat = await client.heartbeat();
      assert.equal(beat.outcome, 'renewed', String(beat.error));
      assert.equal((readStore(storeDir, product).state.endorsements as string[]).length, 3);
    });

    it('refuses a key no endorsement from its pinned keys reaches, keeps its lease, and works once the chain is published', async () => {
      const code = await issueCode(server, product, 1);
      const storeDir = dirs.make();
      const proxy = await new ForgingProxy(server.url).start();
      try {
        const viaProxy = await clientOf(server, product, machines.source('md-raid-udev'), storeDir, { serverUrl: proxy.url });
        await viaProxy.activate(code);
        await rotate();
        server.clock.advance(HOUR);
        // A JWKS without the endorsement (a stale mirror, a CDN that trims fields): the new key is unknown.
        proxy.forge = altered((genuine) => {
          if (!genuine.path.endsWith('/jwks.json')) return genuine;
          const { keys } = JSON.parse(genuine.body.toString('utf8'));
          return { ...genuine, body: Buffer.from(JSON.stringify({ keys })) };
        });
        const refused = await viaProxy.heartbeat();
        assert.equal(refused.outcome, 'refused');
        assert.equal((refused.error as LicenseClientError).code, 'untrusted_key');
        assert.equal(refused.license.valid, true, 'the lease already held stays valid');

        proxy.forge = null;
        assert.equal((await viaProxy.heartbeat()).outcome, 'renewed');
      } finally {
        await proxy.close();
      }
    });
  });

  describe('when the server is gone', () => {
    let gone: TestServer;
    before(async () => {
      gone = await startTestServer(engine);
      await admin(gone.url, 'POST', '/v1/admin/products', { name: product });
    });
    after(async () => gone?.close());

    it('keeps the license valid within the lease, and reports lease_expired after it', async () => {
      const code = await issueCode(gone, product, 1, 90);
      const storeDir = dirs.make();
      const pinned = await publishedKeys(gone);
      const client = await clientOf(gone, product, machines.source('nvme-bare-metal'), storeDir, { publicKeys: pinned });
      const state = await client.activate(code);
      const leaseEnd = state.leaseEndsAt!.getTime();
      await gone.close();

      // The client's clock is the server's TestClock: both move together.
      gone.clock.advance(6 * DAY);
      const beat = await client.heartbeat();
      assert.equal(beat.outcome, 'unreachable');
      assert.equal((beat.error as LicenseClientError).code, 'server_unreachable');
      assert.equal(beat.license.valid, true, 'grace: valid until the lease ends');
      assert.equal(client.check().valid, true);

      gone.clock.t = leaseEnd + 10 * 60_000;
      const lapsed = client.check();
      assert.equal(lapsed.valid, false);
      assert.equal(lapsed.reason, 'lease_expired');
      assert.equal(lapsed.status, 'alive', 'the license itself did not expire; its lease did');
      // A restarted client says the same.
      const restarted = await clientOf(gone, product, machines.source('nvme-bare-metal'), storeDir, { publicKeys: pinned });
      assert.equal(restarted.check().reason, 'lease_expired');
      assert.equal((await restarted.heartbeat()).outcome, 'unreachable');
    });
  });
});
