import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LicenseClient, LicenseClientError } from '@licensor/client';
import { DAY } from './support/clock';
import { cliEnv, runBinary } from './support/cli';
import { startTestServer, type TestServer } from './support/harness';
import { admin } from './support/http';
import { deadFetch, FINGERPRINT_KEY, issueCode, Machines, publishedKeys, StoreDirs } from './support/license-clients';

describe('air-gapped activation through the licensor CLI', () => {
  let server: TestServer;
  const machines = new Machines();
  const dirs = new StoreDirs();
  const product = 'client-airgapped';
  let pinned: { keys: Record<string, unknown>[] };

  before(async () => {
    server = await startTestServer('sqlite');
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
    await admin(server.url, 'POST', '/v1/admin/products', { name: `${product}-floating`, seatMode: 'floating' });
    await admin(server.url, 'POST', '/v1/admin/products', { name: `${product}-other` });
    pinned = await publishedKeys(server);
  });
  after(async () => {
    await server?.close();
    machines.remove();
    dirs.remove();
  });

  /** A client with no server at all: the machine never goes online. */
  function airGapped(machine: Parameters<Machines['source']>[0], storeDir = dirs.make(), clock: () => number = Date.now) {
    return new LicenseClient({
      product,
      storeDir,
      publicKeys: pinned,
      fingerprintKey: FINGERPRINT_KEY,
      fingerprintSource: machines.source(machine),
      clock,
      fetch: deadFetch(),
    });
  }

  async function respond(requestFile: string, ...args: string[]) {
    const out = join(dirs.make(), 'license.json');
    const run = await runBinary(['offline', 'respond', requestFile, '--out', out, '--json', ...args], cliEnv(server.db));
    return { run, out };
  }

  it('never lowers the clock mark with a license file: unlike a heartbeat answer, it is not fresh and may be replayed', async () => {
    let offset = 0;
    const client = airGapped('vm-virtio', dirs.make(), () => Date.now() + offset);
    const requestFile = join(dirs.make(), 'request.json');
    await client.createActivationRequest(await issueCode(server, product, 1, 1000), requestFile);
    const { run, out } = await respond(requestFile, '--lease-days', '200');
    assert.equal(run.code, 0, run.err);
    assert.equal((await client.importLicenseFile(out)).valid, true);
    offset = 3 * 365 * DAY;
    client.check();
    offset = 0;
    assert.equal((await client.importLicenseFile(out)).reason, 'clock_tampered');
  });

  it('round-trips: request file, licensor offline respond, import, valid offline with a long lease', async () => {
    const code = await issueCode(server, product, 1, 1000, ['offline']);
    const storeDir = dirs.make();
    const client = airGapped('nvme-bare-metal', storeDir);
    const requestFile = join(dirs.make(), 'request.json');
    const text = await client.createActivationRequest(code, requestFile);
    const request = JSON.parse(readFileSync(requestFile, 'utf8'));
    assert.equal(readFileSync(requestFile, 'utf8'), text);
    assert.equal(request.format, 'licensor-activation-request');
    assert.equal(request.product, product);
    // Hashes only: 32 hex digits per component, never a raw serial.
    assert.ok(
      Object.values(request.fingerprint)
        .flat()
        .every((h) => /^[0-9a-f]{32}$/.test(h as string)),
    );
    assert.doesNotMatch(text, /S5P2NG0R123456A|4c4c4544/i);

    const { run, out } = await respond(requestFile, '--lease-days', '200');
    assert.equal(run.code, 0, run.err);
    assert.equal(run.json.product, product);

    const state = await client.importLicenseFile(out);
    assert.equal(state.valid, true, JSON.stringify(state));
    assert.deepEqual(state.features, ['offline']);
    const lease = state.leaseEndsAt!.getTime() - Date.now();
    assert.ok(lease > 199 * DAY && lease <= 200 * DAY, `lease of ${lease / DAY} days`);

    // The offline activation holds the code's only seat on the server.
    const seats = await admin(server.url, 'GET', `/v1/admin/codes/${code}/activations`);
    assert.deepEqual(
      seats.body.items.map((a: { id: string }) => a.id),
      [JSON.parse(readFileSync(out, 'utf8')).activationId],
    );
    // And an audit event says a license file was issued for it.
    const audit = await admin(server.url, 'GET', `/v1/admin/audit?code=${code}&action=activation.license_file_issued`);
    assert.equal(audit.body.items.length, 1);

    // A restarted application reads it with no network.
    assert.equal(airGapped('nvme-bare-metal', storeDir).check().valid, true);
  });

  it('bounds the lease by the license expiry, and the offline license ends then', async () => {
    const code = await issueCode(server, product, 1, 30);
    let now = Date.now();
    const client = airGapped('vm-virtio', dirs.make(), () => now);
    const requestFile = join(dirs.make(), 'request.json');
    await client.createActivationRequest(code, requestFile);
    const { run, out } = await respond(requestFile, '--lease-days', '365');
    assert.equal(run.code, 0, run.err);
    const state = await client.importLicenseFile(out);
    assert.equal(state.leaseEndsAt!.getTime(), state.expiresAt!.getTime());
    now += 31 * DAY;
    assert.equal(client.check().reason, 'expired');
  });

  it('refuses a floating product, a request for another product, a code that does not exist, and a code with no free seat', async () => {
    const floating = await issueCode(server, `${product}-floating`, 1);
    const requestFile = join(dirs.make(), 'request.json');
    const request = JSON.parse(await airGapped('md-raid-udev').createActivationRequest(floating));
    writeFileSync(requestFile, JSON.stringify({ ...request, product: `${product}-floating` }));
    const refused = await respond(requestFile);
    assert.equal(refused.run.code, 1);
    assert.equal(refused.run.json.error.code, 'floating_seat_offline');

    const code = await issueCode(server, product, 1);
    writeFileSync(requestFile, JSON.stringify({ ...request, code, product: 'some-other-product' }));
    assert.equal((await respond(requestFile)).run.json.error.code, 'product_mismatch');
    writeFileSync(requestFile, JSON.stringify({ ...request, code: 'ABCDE-FGHJK-MNPQR-STVWX-YZ234', product }));
    const unknown = await respond(requestFile);
    assert.equal(unknown.run.code, 1);
    assert.equal(unknown.run.json.error.code, 'code_not_found');

    writeFileSync(requestFile, JSON.stringify({ ...request, code, product }));
    assert.equal((await respond(requestFile)).run.code, 0);
    const second = JSON.parse(await airGapped('dmi-root-only').createActivationRequest(code));
    writeFileSync(requestFile, JSON.stringify(second));
    assert.equal((await respond(requestFile)).run.json.error.code, 'seat_limit_reached');
  });

  it('refuses a request file that is not one, with a usage exit code', async () => {
    const requestFile = join(dirs.make(), 'request.json');
    writeFileSync(requestFile, '{"format":"something-else"}');
    const { run } = await respond(requestFile);
    assert.equal(run.code, 2);
    assert.equal(run.json.error.code, 'invalid_request');
    writeFileSync(requestFile, 'not json at all');
    const garbled = await respond(requestFile);
    assert.equal(garbled.run.code, 2);
    assert.equal(garbled.run.json.error.code, 'invalid_request_file');
    const missing = await runBinary(['offline', 'respond', '/nonexistent/request.json'], cliEnv(server.db));
    assert.equal(missing.code, 2);
  });

  it('will not import a license file made for another machine, or one that is not a license file', async () => {
    const code = await issueCode(server, product, 1);
    const requestFile = join(dirs.make(), 'request.json');
    await airGapped('nvme-bare-metal').createActivationRequest(code, requestFile);
    const { out } = await respond(requestFile);
    const other = airGapped('sata-lvm');
    await assert.rejects(other.importLicenseFile(out), (err: LicenseClientError) => err.code === 'fingerprint_mismatch');
    assert.equal(other.check().reason, 'no_license');
    await assert.rejects(
      other.importLicenseFile({ contents: '{"format":"licensor-license-file"' }),
      (err: LicenseClientError) => err.code === 'invalid_license_file',
    );
    await assert.rejects(other.importLicenseFile('/nonexistent/license.json'), (err: LicenseClientError) => err.code === 'invalid_license_file');
  });

  it('will not import the activation request itself, imported by mistake', async () => {
    const client = airGapped('nvme-bare-metal');
    const requestFile = join(dirs.make(), 'request.json');
    await client.createActivationRequest(await issueCode(server, product, 1), requestFile);
    await assert.rejects(client.importLicenseFile(requestFile), { code: 'invalid_license_file', message: /not a licensor license file/ });
    assert.equal(client.check().reason, 'no_license');
  });

  it('will not import a license file with no token or no product', async () => {
    const client = airGapped('nvme-bare-metal');
    for (const file of [{ product }, { token: 'a.b.c' }, { product, token: '' }]) {
      const contents = JSON.stringify({ format: 'licensor-license-file', v: 1, ...file });
      await assert.rejects(client.importLicenseFile({ contents }), { code: 'invalid_license_file', message: /has no token or product/ });
    }
    assert.equal(client.check().reason, 'no_license');
  });

  it('will not import a license file made for another product', async () => {
    const other = `${product}-other`;
    const requestFile = join(dirs.make(), 'request.json');
    const request = JSON.parse(await airGapped('nvme-bare-metal').createActivationRequest(await issueCode(server, other, 1)));
    writeFileSync(requestFile, JSON.stringify({ ...request, product: other }));
    const { run, out } = await respond(requestFile);
    assert.equal(run.code, 0, run.err);
    const client = airGapped('nvme-bare-metal');
    await assert.rejects(client.importLicenseFile(out), { code: 'wrong_product', message: new RegExp(`for product "${other}", not "${product}"`) });
    assert.equal(client.check().reason, 'no_license');
  });

  it('refuses an empty authorization code in an activation request', async () => {
    const client = airGapped('nvme-bare-metal');
    for (const code of ['', '   ']) await assert.rejects(client.createActivationRequest(code), { code: 'invalid_code' });
  });

  it('has no server to activate, heartbeat or deactivate with (no_server), and its license stays valid', async () => {
    const code = await issueCode(server, product, 1);
    const client = airGapped('sata-lvm');
    const requestFile = join(dirs.make(), 'request.json');
    await client.createActivationRequest(code, requestFile);
    const { out } = await respond(requestFile);
    assert.equal((await client.importLicenseFile(out)).valid, true);

    await assert.rejects(client.activate(code), { code: 'no_server', message: /options\.serverUrl is not set/ });
    const beat = await client.heartbeat();
    assert.equal(beat.outcome, 'refused');
    assert.equal((beat.error as LicenseClientError).code, 'no_server');
    assert.equal(beat.license.valid, true);
    await assert.rejects(client.deactivate(), { code: 'no_server' });
    assert.equal(client.check().valid, true);
  });
});
