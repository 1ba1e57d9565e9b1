import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { CheckResult } from '@licensor/client';
import { DAY, HOUR } from './support/clock';
import { startTestServer, type TestServer } from './support/harness';
import { admin } from './support/http';
import { claimsOf, clientOf, deadFetch, FINGERPRINT_KEY, issueCode, Machines, publishedKeys, readStore, StoreDirs } from './support/license-clients';

describe('client heartbeats against a real server', () => {
  let server: TestServer;
  const machines = new Machines();
  const dirs = new StoreDirs();
  const product = 'client-beats';

  before(async () => {
    server = await startTestServer('sqlite');
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
  });
  after(async () => {
    await server?.close();
    machines.remove();
    dirs.remove();
  });

  async function activated(days = 30) {
    const code = await issueCode(server, product, 1, days);
    const storeDir = dirs.make();
    const client = await clientOf(server, product, machines.source('nvme-bare-metal'), storeDir);
    assert.equal((await client.activate(code)).valid, true);
    return { code, storeDir, client };
  }

  it('renews the lease', async () => {
    const { client } = await activated();
    const before = client.check().leaseEndsAt!.getTime();
    server.clock.advance(DAY);
    const beat = await client.heartbeat();
    assert.equal(beat.outcome, 'renewed');
    assert.equal(beat.license.valid, true);
    assert.equal(beat.license.leaseEndsAt!.getTime(), before + DAY);
  });

  it('takes a license the server expired out of use at once, and back in when it is renewed', async () => {
    const { code, client } = await activated();
    const past = new Date(server.clock.now() - HOUR).toISOString();
    assert.equal((await admin(server.url, 'POST', `/v1/admin/codes/${code}/renew`, { expiresAt: past })).status, 200);
    assert.equal(client.check().valid, true, 'offline, the lease still holds until a heartbeat says otherwise');

    const beat = await client.heartbeat();
    assert.equal(beat.outcome, 'revoked');
    assert.equal(beat.license.valid, false);
    assert.equal(beat.license.reason, 'expired');
    assert.equal(beat.license.status, 'expired');

    await admin(server.url, 'POST', `/v1/admin/codes/${code}/renew`, { days: 30 });
    const renewed = await client.heartbeat();
    assert.equal(renewed.outcome, 'renewed');
    assert.equal(renewed.license.valid, true);
  });

  it('takes a frozen license out of use at once, across restarts, until it is unfrozen', async () => {
    const { code, client, storeDir } = await activated();
    await admin(server.url, 'POST', `/v1/admin/codes/${code}/freeze`);
    const beat = await client.heartbeat();
    assert.equal(beat.outcome, 'revoked');
    assert.equal(beat.license.reason, 'frozen');
    assert.equal(beat.license.status, 'frozen');

    const restarted = await clientOf(server, product, machines.source('nvme-bare-metal'), storeDir, { fetch: deadFetch() });
    assert.equal(restarted.check().reason, 'frozen', 'the answer is stored, not only remembered');

    await admin(server.url, 'POST', `/v1/admin/codes/${code}/unfreeze`);
    assert.equal((await client.heartbeat()).license.valid, true);
  });

  it('takes a released license out of use at once and for good', async () => {
    const { code, client, storeDir } = await activated();
    await admin(server.url, 'POST', `/v1/admin/codes/${code}/release`);
    const beat = await client.heartbeat();
    assert.equal(beat.outcome, 'revoked');
    assert.equal(beat.license.reason, 'released');
    assert.equal(beat.license.status, 'released');
    const restarted = await clientOf(server, product, machines.source('nvme-bare-metal'), storeDir);
    assert.equal(restarted.check().reason, 'released');
  });

  it("reports deactivated when the vendor frees this machine's seat", async () => {
    const { client, storeDir } = await activated();
    const claims = claimsOf(readStore(storeDir, product).token);
    assert.equal((await admin(server.url, 'DELETE', `/v1/admin/activations/${claims.activation.id}`)).status, 200);
    const beat = await client.heartbeat();
    assert.equal(beat.outcome, 'revoked');
    assert.equal(beat.license.reason, 'deactivated');
  });

  it('answers no_license without a stored license, and never throws', async () => {
    const client = await clientOf(server, product, machines.source('vm-virtio'), dirs.make());
    assert.equal((await client.heartbeat()).outcome, 'no_license');
  });

  describe('in the background', () => {
    it('beats at once, reports changes through onChange, and stops when the license is released', async () => {
      const { code, client } = await activated();
      const changes: Array<[CheckResult, CheckResult]> = [];
      const outcomes: string[] = [];
      let released!: () => void;
      const done = new Promise<void>((resolve) => (released = resolve));
      const handle = client.startHeartbeat({
        intervalMs: 20,
        onHeartbeat: (result) => {
          outcomes.push(result.outcome);
          if (outcomes.length === 2) void admin(server.url, 'POST', `/v1/admin/codes/${code}/release`);
        },
        onChange: (now, before) => {
          changes.push([now, before]);
          if (now.reason === 'released') released();
        },
      });
      await done;
      assert.equal(handle.running, false, 'released is terminal: the loop stops by itself');
      assert.ok(outcomes.slice(0, 2).every((o) => o === 'renewed'));
      assert.equal(outcomes.at(-1), 'revoked');
      assert.equal(changes.length, 1);
      assert.equal(changes[0]![1].valid, true);
      assert.equal(changes[0]![0].valid, false);
    });

    it("never keeps the process alive (its timers are unref'd)", async () => {
      const { storeDir } = await activated();
      const root = machines.rootOf('nvme-bare-metal');
      // A real application process: it starts the loop, beats once while its own work runs, and
      // must then exit by itself although the next beat is scheduled a minute later.
      const script = `
        const { LicenseClient, collectSync } = require(${JSON.stringify(require.resolve('@licensor/client'))});
        const o = JSON.parse(process.env.CLIENT_OPTIONS);
        const client = new LicenseClient({ ...o, fingerprintSource: () => collectSync({ root: o.root }) });
        client.startHeartbeat({ intervalMs: 60000, onHeartbeat: (r) => console.log('beat', r.outcome) });
        // The application's own work, which ends after a second.
        setTimeout(() => {}, 1000);
      `;
      const options = { serverUrl: server.url, product, storeDir, fingerprintKey: FINGERPRINT_KEY, publicKeys: await publishedKeys(server), root };
      const started = Date.now();
      // Asynchronously: the server answering the beat runs in this process.
      const run = await promisify(execFile)(process.execPath, ['-e', script], {
        env: { ...process.env, CLIENT_OPTIONS: JSON.stringify(options) },
        timeout: 20_000,
        encoding: 'utf8',
      });
      assert.match(run.stdout, /^beat renewed$/m);
      assert.ok(Date.now() - started < 15_000, 'the process exited without waiting for the next beat');
    });
  });
});
