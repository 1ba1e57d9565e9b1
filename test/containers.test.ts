import { strict as assert } from 'node:assert';
import { cpSync, statSync } from 'node:fs';
import { collectSync, type LicenseClientError, storePaths } from '@licensor/client';
import { MINUTE } from './support/clock';
import { forEachEngine } from './support/databases';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';
import { claimsOf, clientOf, deadFetch, issueCode, Machines, readStore, StoreDirs } from './support/license-clients';
import { assertRefusal } from './support/refusals';

/**
 * Containers (docs/policies.md "Containers"): their machine id belongs to their image, so a
 * node-locked product refuses them, and a product with `containers: "instance"` licenses each
 * container instance with a floating seat bound to an identity its client keeps. Run on this very
 * machine, which is a container, with the real addon; a second container is the container fixture.
 */
forEachEngine('licensing containers', (engine) => {
  let server: TestServer;
  const machines = new Machines();
  const dirs = new StoreDirs();

  before(async () => {
    server = await startTestServer(engine);
    assert.equal((await admin(server.url, 'POST', '/v1/admin/products', { name: 'locked' })).status, 201);
    const instance = await admin(server.url, 'POST', '/v1/admin/products', { name: 'pods', seatMode: 'floating', leaseSeconds: 600, containers: 'instance' });
    assert.equal(instance.status, 201, instance.text);
  });
  after(async () => {
    await server?.close();
    machines.remove();
    dirs.remove();
  });

  /** This machine, read by the real addon. */
  const here = () => collectSync();
  /** Another container of the same image: the container fixture, told apart by its /etc/hostname mount. */
  const otherContainer = () => machines.source('container');

  it('runs on a container (the premise of what follows)', () => {
    assert.equal(here().env.container, true, 'this suite runs in a container: /.dockerenv or another sign of one');
  });

  it('refuses a container on a node-locked product, saying why and what to do', async () => {
    const client = await clientOf(server, 'locked', here, dirs.make());
    await assert.rejects(client.activate(await issueCode(server, 'locked', 5)), (err: LicenseClientError) => {
      assert.equal(err.code, 'container_not_allowed');
      assert.equal(err.status, 403);
      assert.match(err.message, /belongs to its image/);
      assert.match(err.message, /containers policy is "instance"/);
      return true;
    });
  });

  it('refuses containers "instance" on a node-locked product, which could never free a dead container’s seat', async () => {
    assertRefusal(await admin(server.url, 'POST', '/v1/admin/products', { name: 'pods-locked', containers: 'instance' }), 400, 'containers_need_floating');
  });

  it('licenses this container as an instance: its identity is the only component, kept across restarts', async () => {
    const dir = dirs.make();
    const code = await issueCode(server, 'pods', 2);
    const client = await clientOf(server, 'pods', here, dir);
    const activated = await client.activate(code);
    assert.equal(activated.valid, true, JSON.stringify(activated));
    const { activation } = claimsOf(readStore(dir, 'pods').token);
    assert.deepEqual(Object.keys(activation.fingerprint), ['instance.id']);
    assert.equal(statSync(storePaths(dir, 'pods').instance).mode & 0o777, 0o600);

    server.clock.advance(MINUTE);
    assert.equal((await client.heartbeat()).outcome, 'renewed');
    const restarted = await clientOf(server, 'pods', here, dir, { fetch: deadFetch() });
    assert.equal(restarted.check().valid, true);
    const again = await clientOf(server, 'pods', here, dir);
    await again.activate(code);
    assert.equal(claimsOf(readStore(dir, 'pods').token).activation.id, activation.id, 'the same instance gets its own seat back');
  });

  it('gives a container started from an image with a store inside an instance of its own, and flags the copied one as a clone', async () => {
    const original = dirs.make();
    const code = await issueCode(server, 'pods', 2);
    const first = await clientOf(server, 'pods', here, original);
    await first.activate(code);
    const copied = dirs.make();
    cpSync(original, copied, { recursive: true });
    const second = await clientOf(server, 'pods', otherContainer(), copied);

    // The copy names another instance: the copied lease is not valid there.
    assert.equal(second.check().reason, 'fingerprint_mismatch');
    // Its heartbeats with the copied secret name another instance too; then the original beats: a clone.
    server.clock.advance(MINUTE);
    assert.equal(((await second.heartbeat()).error as LicenseClientError).code, 'fingerprint_mismatch');
    server.clock.advance(MINUTE);
    assert.equal(((await first.heartbeat()).error as LicenseClientError).code, 'activation_cloned');

    // Each container activating for itself is what works: a seat each (the code has two).
    const fresh = await clientOf(server, 'pods', otherContainer(), dirs.make());
    assert.equal((await fresh.activate(code)).valid, true);
  });

  it('frees a dead container’s seat once its heartbeats stop for a lease, for the next container', async () => {
    const code = await issueCode(server, 'pods', 1);
    const dying = await clientOf(server, 'pods', here, dirs.make());
    await dying.activate(code);
    const next = await clientOf(server, 'pods', otherContainer(), dirs.make());
    await assert.rejects(next.activate(code), (err: LicenseClientError) => err.code === 'seat_limit_reached');
    server.clock.advance(11 * MINUTE);
    assert.equal((await next.activate(code)).valid, true);
    const seats = await admin(server.url, 'GET', `/v1/admin/codes/${code}/activations`);
    assert.deepEqual(seats.body.items.map((a: { status: string }) => a.status).sort(), ['active', 'culled']);
  });

  it('refuses an instance fingerprint sent straight to a node-locked product’s code, over HTTP', async () => {
    const res = await call(server.url, 'POST', '/v1/activations', {
      code: await issueCode(server, 'locked', 1),
      fingerprint: { 'instance.id': 'a'.repeat(32) },
    });
    assertRefusal(res, 403, 'container_not_allowed');
  });
});
