import { strict as assert } from 'node:assert';
import { forEachEngine } from './support/databases';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';
import { assertRefusal } from './support/refusals';
import { machine } from './support/factories';
import { MINUTE } from './support/clock';

forEachEngine('activating machines', (engine) => {
  let server: TestServer;
  let product: string;

  before(async () => {
    server = await startTestServer(engine);
    product = `app-${engine}`;
    assert.equal((await admin(server.url, 'POST', '/v1/admin/products', { name: product })).status, 201);
    assert.equal((await admin(server.url, 'POST', '/v1/admin/products', { name: `${product}-floating`, seatMode: 'floating', leaseSeconds: 600 })).status, 201);
  });
  after(async () => server?.close());

  async function issue(seats: number, name = product): Promise<string> {
    const res = await admin(server.url, 'POST', '/v1/admin/codes', { product: name, seats, days: 30 });
    assert.equal(res.status, 201, res.text);
    return res.body.code.code;
  }

  it('binds a machine to a seat and moves an issued code to alive', async () => {
    const code = await issue(1);
    const res = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('m1'), environment: { virtualized: false } });
    assert.equal(res.status, 201, res.text);
    assert.match(res.body.activation.id, /^[0-9a-f-]{36}$/);
    assert.equal(res.body.license.status, 'alive');
    assert.equal(res.body.license.seats, 1);
    assert.equal(res.body.token.split('.').length, 3);
    const shown = await admin(server.url, 'GET', `/v1/admin/codes/${code}`);
    assert.equal(shown.body.code.status, 'alive');
  });

  it('accepts the code in any case, with spaces or without dashes', async () => {
    const code = await issue(1);
    const typed = ` ${code.toLowerCase().replace(/-/g, ' ')} `;
    const res = await call(server.url, 'POST', '/v1/activations', { code: typed, fingerprint: machine('typed') });
    assert.equal(res.status, 201, res.text);
  });

  it('gives the same machine its existing seat back (200, same id)', async () => {
    const code = await issue(1);
    const first = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('again') });
    const second = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('again') });
    assert.equal(first.status, 201);
    assert.equal(second.status, 200);
    assert.equal(second.body.activation.id, first.body.activation.id);
  });

  it('recognises the same machine after a network card swap and re-enrols it', async () => {
    const code = await issue(1);
    const first = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('drift') });
    const swapped = machine('drift', { 'net.macs': 'new-nic' });
    const second = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: swapped });
    assert.equal(second.status, 200, second.text);
    assert.equal(second.body.activation.id, first.body.activation.id);
    const activations = await admin(server.url, 'GET', `/v1/admin/codes/${code}/activations`);
    assert.deepEqual(activations.body.items[0].fingerprint['net.macs'], swapped['net.macs']);
    const audit = await admin(server.url, 'GET', `/v1/admin/audit?code=${code}&action=activation.reenrolled`);
    assert.deepEqual(audit.body.items[0].after, { changed: ['net.macs'] });
  });

  it('takes a machine whose boot disk (an anchor) differs for another machine: a seat of its own, both flagged', async () => {
    const code = await issue(2);
    const first = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('disk-swap') });
    const swapped = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('disk-swap', { 'disk.bootSerial': 'new-disk' }) });
    assert.equal(swapped.status, 201, swapped.text);
    assert.notEqual(swapped.body.activation.id, first.body.activation.id);
    assert.equal(swapped.body.activation.cloneSuspect, true);
    const refused = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('disk-swap', { 'disk.bootSerial': 'third-disk' }) });
    assertRefusal(refused, 409, 'seat_limit_reached');
  });

  it('refuses the same machine whose fingerprint changed twice within the window, saying when it may', async () => {
    const code = await issue(1);
    await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('twice') });
    assert.equal((await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('twice', { 'net.macs': 'nic-2' }) })).status, 200);
    const again = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('twice', { 'net.macs': 'nic-2', 'hw.model': 'new-model' }) });
    assertRefusal(again, 409, 'fingerprint_changed');
    assert.equal(again.body.error.details.reason, 'changed_recently');
    assert.deepEqual(again.body.error.details.components, ['hw.model']);
    assert.ok(Date.parse(again.body.error.details.retryAt) > server.clock.now());
  });

  it('gives the same machine a new secret at every activation: the old one no longer proves anything', async () => {
    const code = await issue(1);
    const first = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('rekeyed') });
    const second = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('rekeyed') });
    assert.notEqual(second.body.activation.secret, first.body.activation.secret);
    const id = first.body.activation.id;
    assertRefusal(
      await call(server.url, 'POST', '/v1/heartbeat', { activationId: id, secret: first.body.activation.secret, fingerprint: machine('rekeyed') }),
      403,
      'activation_proof_invalid',
    );
    assert.equal(
      (await call(server.url, 'POST', '/v1/heartbeat', { activationId: id, secret: second.body.activation.secret, fingerprint: machine('rekeyed') })).status,
      200,
    );
  });

  it('refuses a machine beyond the seat limit with seat_limit_reached', async () => {
    const code = await issue(2);
    assert.equal((await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('a') })).status, 201);
    assert.equal((await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('b') })).status, 201);
    const third = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('c') });
    assert.equal(third.status, 409);
    assert.equal(third.body.error.code, 'seat_limit_reached');
    assert.equal(third.body.error.details.seats, 2);
  });

  it('grants exactly 5 of 50 racing activations on a 5-seat code', async () => {
    const code = await issue(5);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine(`racer-${i}`) })),
    );
    const statuses = answers.map((a) => a.status);
    assert.equal(statuses.filter((s) => s === 201).length, 5, `statuses: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 409).length, 45);
    const activations = await admin(server.url, 'GET', `/v1/admin/codes/${code}/activations`);
    assert.equal(activations.body.items.filter((a: { status: string }) => a.status === 'active').length, 5);
  });

  it('frees a seat when the client deactivates with its token', async () => {
    const code = await issue(1);
    const first = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('leaver') });
    const refused = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('newcomer') });
    assert.equal(refused.status, 409);
    const bye = await call(server.url, 'DELETE', `/v1/activations/${first.body.activation.id}`, undefined, {
      authorization: `Bearer ${first.body.token}`,
    });
    assert.equal(bye.status, 200, bye.text);
    assert.equal(bye.body.activation.status, 'deactivated');
    assert.equal((await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('newcomer') })).status, 201);
  });

  it('refuses a deactivation without proof of holding the activation', async () => {
    const code = await issue(2);
    const mine = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('holder') });
    const other = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('other-holder') });
    const res = await call(server.url, 'DELETE', `/v1/activations/${mine.body.activation.id}`, { token: other.body.token });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'activation_proof_invalid');
    const forged = await call(server.url, 'DELETE', `/v1/activations/${mine.body.activation.id}`, { token: mine.body.token.slice(0, -4) + 'AAAA' });
    assert.equal(forged.status, 403);
  });

  it('culls a floating seat whose heartbeats stopped past the lease, and reuses it', async () => {
    const code = await issue(1, `${product}-floating`);
    const sleeper = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('sleeper') });
    assert.equal(sleeper.status, 201);
    assert.equal((await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('waiting') })).status, 409);
    server.clock.advance(11 * MINUTE);
    const report = await server.running.sweeper.runOnce();
    assert.ok(report.culled >= 1);
    const taken = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('waiting') });
    assert.equal(taken.status, 201, taken.text);
    const beat = await call(server.url, 'POST', '/v1/heartbeat', {
      activationId: sleeper.body.activation.id,
      secret: sleeper.body.activation.secret,
      fingerprint: machine('sleeper'),
    });
    assert.equal(beat.status, 409);
    assert.equal(beat.body.error.code, 'activation_ended');
  });

  it('frees a lapsed floating seat at activation time even before the sweeper runs', async () => {
    const code = await issue(1, `${product}-floating`);
    assert.equal((await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('gone-quiet') })).status, 201);
    server.clock.advance(11 * MINUTE);
    assert.equal((await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('next-in-line') })).status, 201);
  });

  it('keeps a floating seat whose machine keeps beating', async () => {
    const code = await issue(1, `${product}-floating`);
    const a = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('steady') });
    for (let i = 0; i < 4; i++) {
      server.clock.advance(4 * MINUTE);
      const beat = await call(server.url, 'POST', '/v1/heartbeat', {
        activationId: a.body.activation.id,
        secret: a.body.activation.secret,
        fingerprint: machine('steady'),
      });
      assert.equal(beat.status, 200, beat.text);
    }
    await server.running.sweeper.runOnce();
    assert.equal((await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('intruder') })).status, 409);
  });

  it('flags two live machines that share an anchor but otherwise differ as clone suspects', async () => {
    const code = await issue(2);
    const original = machine('golden-image');
    const clone = machine('cloned-vm', {});
    clone['os.machineId'] = original['os.machineId']!;
    await call(server.url, 'POST', '/v1/activations', { code, fingerprint: original });
    const res = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: clone });
    assert.equal(res.status, 201);
    assert.equal(res.body.activation.cloneSuspect, true);
    const all = await admin(server.url, 'GET', `/v1/admin/codes/${code}/activations`);
    assert.deepEqual(
      all.body.items.map((a: { cloneSuspect: boolean }) => a.cloneSuspect),
      [true, true],
    );
  });

  it('refuses a fingerprint without any anchor component, which no heartbeat could ever match', async () => {
    const code = await issue(1);
    const { 'cpu.signature': cpu, 'hw.model': model } = machine('anchorless');
    const res = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: { 'cpu.signature': cpu!, 'hw.model': model! } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'fingerprint_insufficient');
  });

  it('activates and keeps beating a container that exposes only its OS id and CPU', async () => {
    const code = await issue(1);
    const { 'os.machineId': os, 'cpu.signature': cpu } = machine('container');
    const fingerprint = { 'os.machineId': os!, 'cpu.signature': cpu! };
    const res = await call(server.url, 'POST', '/v1/activations', { code, fingerprint });
    assert.equal(res.status, 201, res.text);
    const beat = await call(server.url, 'POST', '/v1/heartbeat', { activationId: res.body.activation.id, secret: res.body.activation.secret, fingerprint });
    assert.equal(beat.status, 200, beat.text);
  });

  it('refuses an unknown code with code_not_found', async () => {
    const res = await call(server.url, 'POST', '/v1/activations', { code: 'ABCDE-FGHJK-MNPQR-STVWX-YZ234', fingerprint: machine('x') });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'code_not_found');
  });
});
