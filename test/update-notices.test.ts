import { strict as assert } from 'node:assert';
import type { UpdateNotice } from '@licensor/client';
import { compareVersions } from '@licensor/client/contract';
import { runCli, cliEnv } from './support/cli';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';
import { claimsOf, clientOf, issueCode, Machines, StoreDirs } from './support/license-clients';

describe('comparing versions', () => {
  it('orders dotted numbers, missing parts as 0, a pre-release before its release', () => {
    const ordered = ['1', '1.0.1', '1.2.0-alpha', '1.2.0-alpha.1', '1.2.0-alpha.beta', '1.2.0-beta.2', '1.2.0-beta.11', '1.2.0', '1.10', '2.0.0'];
    for (let i = 0; i + 1 < ordered.length; i++) assert.equal(compareVersions(ordered[i]!, ordered[i + 1]!), -1, `${ordered[i]} < ${ordered[i + 1]}`);
    assert.equal(compareVersions('1.2', '1.2.0'), 0);
    assert.equal(compareVersions('2.0.0', '1.99.99'), 1);
  });
});

forEachEngine('update notices', (engine) => {
  let server: TestServer;
  const machines = new Machines();
  const dirs = new StoreDirs();
  const product = `updating-${engine}`;

  before(async () => {
    server = await startTestServer(engine);
    assert.equal((await admin(server.url, 'POST', '/v1/admin/products', { name: product })).status, 201);
  });
  after(async () => {
    await server?.close();
    machines.remove();
    dirs.remove();
  });

  const publish = (version: string, required?: boolean) =>
    admin(server.url, 'POST', `/v1/admin/products/${product}/versions`, { version, ...(required === undefined ? {} : { required }) });

  it('publishes the latest version through the admin API; heartbeat answers and their tokens carry it', async () => {
    const published = await publish('1.1.0');
    assert.equal(published.status, 201, published.text);
    assert.equal(published.body.product.latestVersion, '1.1.0');
    assert.equal(published.body.product.minimumVersion, null);
    const code = await issueCode(server, product, 1);
    const activation = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('notice') });
    const beat = await call(server.url, 'POST', '/v1/heartbeat', {
      activationId: activation.body.activation.id,
      secret: activation.body.activation.secret,
      fingerprint: machine('notice'),
    });
    assert.deepEqual(beat.body.update, { latestVersion: '1.1.0', minimumVersion: null });
    const claims = claimsOf(beat.body.token);
    assert.deepEqual(claims.update, { latestVersion: '1.1.0', minimumVersion: null });
    const audit = await admin(server.url, 'GET', '/v1/admin/audit?action=product.version_published');
    assert.equal(audit.body.items[0].after.latestVersion, '1.1.0');
  });

  it('makes a required version the minimum, which a later optional release does not lower', async () => {
    assert.equal((await publish('2.0.0', true)).body.product.minimumVersion, '2.0.0');
    const later = await publish('2.1.0');
    assert.equal(later.body.product.latestVersion, '2.1.0');
    assert.equal(later.body.product.minimumVersion, '2.0.0');
    const below = await publish('1.9.0');
    assert.equal(below.status, 409);
    assert.equal(below.body.error.code, 'version_below_minimum');
    const bad = await publish('two');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_request');
    assert.equal((await admin(server.url, 'POST', '/v1/admin/products/no-such-product/versions', { version: '1.0.0' })).status, 404);
  });

  it('publishes from the CLI: licensor products publish-version', async () => {
    const run = await runCli(['products', 'publish-version', '--name', product, '--version', '2.2.0', '--json'], cliEnv(server.db));
    assert.equal(run.code, 0, run.err);
    assert.equal(run.json.latestVersion, '2.2.0');
    assert.equal(run.json.minimumVersion, '2.0.0');
    const shown = await admin(server.url, 'GET', `/v1/admin/products/${product}`);
    assert.equal(shown.body.product.latestVersion, '2.2.0');
  });

  it('raises an update event on the client running an older version, with required when below the minimum; check() reports it', async () => {
    const code = await issueCode(server, product, 1);
    const client = await clientOf(server, product, machines.source('nvme-bare-metal'), dirs.make(), { version: '1.5.0' });
    await client.activate(code);
    const notice = await new Promise<UpdateNotice>((resolve) => {
      const loop = client.startHeartbeat({
        onUpdate: (n) => {
          loop.stop();
          resolve(n);
        },
      });
    });
    assert.deepEqual({ ...notice }, { latestVersion: '2.2.0', minimumVersion: '2.0.0', runningVersion: '1.5.0', required: true });
    assert.equal(client.check().valid, true, 'a required update is reported, not enforced');
    assert.equal(client.check().update?.required, true);
  });

  it('reports an optional update to a version at or above the minimum, and nothing to an up-to-date one', async () => {
    const optional = await clientOf(server, product, machines.source('sata-lvm'), dirs.make(), { version: '2.0.0' });
    await optional.activate(await issueCode(server, product, 1));
    assert.equal((await optional.heartbeat()).outcome, 'renewed');
    assert.deepEqual({ ...optional.check().update }, { latestVersion: '2.2.0', minimumVersion: '2.0.0', runningVersion: '2.0.0', required: false });
    const current = await clientOf(server, product, machines.source('vm-virtio'), dirs.make(), { version: '2.2.0' });
    await current.activate(await issueCode(server, product, 1));
    assert.equal((await current.heartbeat()).outcome, 'renewed');
    assert.equal(current.check().update, null);
    const unversioned = await clientOf(server, product, machines.source('md-raid-udev'), dirs.make());
    await unversioned.activate(await issueCode(server, product, 1));
    assert.equal(unversioned.check().update, null);
  });
});
