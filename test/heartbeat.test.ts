import { strict as assert } from 'node:assert';
import { decodeJwt } from 'jose';
import { MINUTE, SECOND } from './support/clock';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';

forEachEngine('heartbeats', (engine) => {
  let server: TestServer;
  const product = `beats-${engine}`;

  before(async () => {
    // Beats stay buffered until a test flushes them, so what the writer holds is deterministic.
    server = await startTestServer(engine, { LICENSOR_HEARTBEAT_FLUSH_MS: '60000' });
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
    await admin(server.url, 'POST', '/v1/admin/products', { name: `${product}-floating`, seatMode: 'floating', leaseSeconds: 600 });
  });
  after(async () => server?.close());

  async function activated(name: string, productName = product) {
    const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product: productName, seats: 1, days: 30 });
    const code = issued.body.code.code as string;
    const res = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine(name) });
    assert.equal(res.status, 201, res.text);
    secrets.set(res.body.activation.id, res.body.activation.secret);
    return { code, activationId: res.body.activation.id as string, token: res.body.token as string };
  }

  const secrets = new Map<string, string>();
  /** A heartbeat by the holder of the activation (its secret as the proof). */
  const beat = (activationId: string, fingerprint = machine('x')) =>
    call(server.url, 'POST', '/v1/heartbeat', { activationId, secret: secrets.get(activationId) ?? 'not-the-secret-of-any-activation', fingerprint });

  it('answers alive with a fresh lease token and the license expiry', async () => {
    const { activationId, token } = await activated('beater');
    server.clock.advance(5 * SECOND);
    const res = await beat(activationId, machine('beater'));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'alive');
    assert.notEqual(res.body.token, token);
    assert.ok(decodeJwt(res.body.token).iat! > decodeJwt(token).iat!);
    assert.ok(Date.parse(res.body.license.expiresAt) > server.clock.now());
  });

  it('records liveness through the coalesced writer, not one write per beat', async () => {
    const { activationId } = await activated('coalesced');
    server.clock.advance(MINUTE);
    const at = server.clock.now();
    const writer = server.running.runtime.heartbeats;
    for (let i = 0; i < 5; i++) assert.equal((await beat(activationId, machine('coalesced'))).status, 200);
    assert.equal(writer.pendingCount >= 1, true);
    await writer.flush();
    assert.equal(writer.pendingCount, 0);
    const stored = await server.running.runtime.ctx.repo.activations.findById(activationId);
    assert.equal(stored!.lastHeartbeatAt, at);
  });

  it('writes at once when a floating lease is close to lapsing', async () => {
    const { activationId } = await activated('near-lapse', `${product}-floating`);
    server.clock.advance(6 * MINUTE);
    assert.equal((await beat(activationId, machine('near-lapse'))).status, 200);
    const stored = await server.running.runtime.ctx.repo.activations.findById(activationId);
    assert.equal(stored!.lastHeartbeatAt, server.clock.now());
  });

  for (const [action, status] of [
    ['freeze', 'frozen'],
    ['release', 'released'],
  ] as const) {
    it(`answers ${status} without a token once the code is ${status}`, async () => {
      const { code, activationId } = await activated(`to-${action}`);
      await admin(server.url, 'POST', `/v1/admin/codes/${code}/${action}`);
      const res = await beat(activationId, machine(`to-${action}`));
      if (status === 'released') {
        // Releasing frees every seat: the activation itself has ended.
        assert.equal(res.status, 409);
        assert.equal(res.body.error.code, 'activation_ended');
      } else {
        assert.equal(res.status, 200);
        assert.equal(res.body.status, status);
        assert.equal(res.body.token, null);
      }
    });
  }

  it('answers expired without a token once the date has passed, before any sweep', async () => {
    const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 1, days: 1 });
    const res = await call(server.url, 'POST', '/v1/activations', { code: issued.body.code.code, fingerprint: machine('short-lived') });
    secrets.set(res.body.activation.id, res.body.activation.secret);
    server.clock.advance(25 * 60 * MINUTE);
    const answer = await beat(res.body.activation.id, machine('short-lived'));
    assert.equal(answer.body.status, 'expired');
    assert.equal(answer.body.token, null);
  });

  it('refuses a machine that does not match the activation', async () => {
    const { activationId } = await activated('owner');
    const res = await beat(activationId, machine('impostor'));
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'fingerprint_mismatch');
  });

  it('re-enrols a machine whose network card changed, and keeps beating', async () => {
    const { activationId } = await activated('nic-swap');
    const swapped = machine('nic-swap', { 'net.macs': 'new-nic' });
    assert.equal((await beat(activationId, swapped)).status, 200);
    const stored = await server.running.runtime.ctx.repo.activations.findById(activationId);
    assert.deepEqual(stored!.fingerprint['net.macs'], swapped['net.macs']);
    assert.equal((await beat(activationId, swapped)).status, 200);
  });

  it('refuses an activation that was deactivated', async () => {
    const { activationId, token } = await activated('left');
    await call(server.url, 'DELETE', `/v1/activations/${activationId}`, { token });
    const res = await beat(activationId, machine('left'));
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'activation_ended');
    assert.equal(res.body.error.details.status, 'deactivated');
  });

  it('answers 404 for an activation that never existed', async () => {
    const res = await beat('00000000-0000-7000-8000-000000000000');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'activation_not_found');
  });

  it('never lets the lease outlive the license', async () => {
    const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 1, days: 1 });
    const res = await call(server.url, 'POST', '/v1/activations', { code: issued.body.code.code, fingerprint: machine('capped') });
    secrets.set(res.body.activation.id, res.body.activation.secret);
    server.clock.advance(23 * 60 * MINUTE);
    const answer = await beat(res.body.activation.id, machine('capped'));
    const claims = decodeJwt(answer.body.token);
    assert.equal(claims.exp, Math.floor(Date.parse(issued.body.code.expiresAt) / 1000));
  });
});
