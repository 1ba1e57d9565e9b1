import { strict as assert } from 'node:assert';
import { DAY, MINUTE } from './support/clock';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call, type Answer } from './support/http';
import { assertRefusal } from './support/refusals';

/** The claims of a lease token (no verification: other suites hold the signatures to account). */
function claimsOf(token: string): { iat: number; exp: number; license: { seatMode: string }; heartbeat: { intervalSeconds: number } } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
}

forEachEngine('changing a product policy after creation', (engine) => {
  let server: TestServer;
  let seq = 0;

  before(async () => {
    server = await startTestServer(engine);
  });
  after(async () => server?.close());

  const patch = (name: string, body: unknown) => admin(server.url, 'PATCH', `/v1/admin/products/${name}`, body);

  async function newProduct(extra: Record<string, unknown> = {}): Promise<string> {
    const name = `policy-${engine}-${++seq}`;
    const res = await admin(server.url, 'POST', '/v1/admin/products', { name, ...extra });
    assert.equal(res.status, 201, res.text);
    return name;
  }

  async function issue(product: string, seats = 3): Promise<string> {
    const res = await admin(server.url, 'POST', '/v1/admin/codes', { product, seats, days: 90 });
    assert.equal(res.status, 201, res.text);
    return res.body.code.code;
  }

  async function activate(code: string, fingerprint = machine(`m-${++seq}`)): Promise<{ id: string; secret: string; fingerprint: typeof fingerprint }> {
    const res = await call(server.url, 'POST', '/v1/activations', { code, fingerprint });
    assert.equal(res.status, 201, res.text);
    return { id: res.body.activation.id, secret: res.body.activation.secret, fingerprint };
  }

  const beat = (a: { id: string; secret: string; fingerprint: unknown }): Promise<Answer> =>
    call(server.url, 'POST', '/v1/heartbeat', { activationId: a.id, secret: a.secret, fingerprint: a.fingerprint });

  async function auditOf(name: string): Promise<any[]> {
    const product = (await admin(server.url, 'GET', `/v1/admin/products/${name}`)).body.product;
    return (await admin(server.url, 'GET', `/v1/admin/audit?entity=${product.id}&action=product.policy_changed`)).body.items;
  }

  it('changes only the settings given and answers the product as it now is', async () => {
    const name = await newProduct();
    const before = (await admin(server.url, 'GET', `/v1/admin/products/${name}`)).body.product;
    const res = await patch(name, { matchStrategy: 'exact', churnLimit: 5, churnPeriodSeconds: 3600, fingerprintChangeWindowSeconds: 7 * 86_400 });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.changed, true);
    assert.deepEqual(res.body.product, {
      ...before,
      matchStrategy: 'exact',
      churnLimit: 5,
      churnPeriodSeconds: 3600,
      fingerprintChangeWindowSeconds: 7 * 86_400,
    });
    assert.deepEqual((await admin(server.url, 'GET', `/v1/admin/products/${name}`)).body.product, res.body.product);
    const unlimited = await patch(name, { churnLimit: null });
    assert.equal(unlimited.body.product.churnLimit, null);
  });

  it('audits each change as one product.policy_changed event with the before and after of what changed', async () => {
    const name = await newProduct();
    await patch(name, { reclaim: 'soft', leaseSeconds: 14 * 86_400, heartbeatIntervalSeconds: 86_400 });
    const [event, ...others] = await auditOf(name);
    assert.equal(others.length, 0);
    assert.equal(event.actor, 'admin-api');
    assert.deepEqual(event.before, { leaseSeconds: 7 * 86_400, heartbeatIntervalSeconds: Math.floor((7 * 86_400) / 3), reclaim: 'eager' });
    assert.deepEqual(event.after, { leaseSeconds: 14 * 86_400, heartbeatIntervalSeconds: 86_400, reclaim: 'soft' });
  });

  it('changes and audits nothing when every setting given already has that value', async () => {
    const name = await newProduct({ matchStrategy: 'loose' });
    const res = await patch(name, { matchStrategy: 'loose', seatMode: 'node_locked' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.changed, false);
    assert.deepEqual(await auditOf(name), []);
  });

  it('refuses an empty change, the name, an unknown setting and values outside the limits of creation with 400 invalid_request', async () => {
    const name = await newProduct();
    for (const body of [
      {},
      { name: 'renamed' },
      { lateness: 3 },
      { leaseSeconds: 59 },
      { seatMode: 'metered' },
      { churnLimit: 0 },
      { fingerprintChangeWindowSeconds: 60 },
      [],
    ]) {
      assertRefusal(await patch(name, body), 400, 'invalid_request');
    }
    assertRefusal(await patch('no-such-product', { reclaim: 'soft' }), 404, 'product_not_found');
    assertRefusal(await patch('not a name!', { reclaim: 'soft' }), 400, 'invalid_request');
    assert.deepEqual(await auditOf(name), []);
  });

  it('holds the result to the rules of creation: a heartbeat shorter than the lease, containers only on floating products', async () => {
    const locked = await newProduct();
    assertRefusal(await patch(locked, { heartbeatIntervalSeconds: 7 * 86_400 }), 400, 'heartbeat_exceeds_lease');
    assertRefusal(await patch(locked, { leaseSeconds: 3600 }), 400, 'heartbeat_exceeds_lease');
    assertRefusal(await patch(locked, { containers: 'instance' }), 400, 'containers_need_floating');
    const pods = await newProduct({ seatMode: 'floating', containers: 'instance' });
    assertRefusal(await patch(pods, { seatMode: 'node_locked' }), 400, 'containers_need_floating');
    assert.equal((await patch(locked, { leaseSeconds: 3600, heartbeatIntervalSeconds: 600 })).status, 200);
  });

  it('applies racing changes one after the other, so together they cannot break a rule each alone keeps', async () => {
    for (let round = 0; round < 5; round++) {
      const name = await newProduct({ leaseSeconds: 3600, heartbeatIntervalSeconds: 1200 });
      const [longerBeats, shorterLease] = await Promise.all([patch(name, { heartbeatIntervalSeconds: 3000 }), patch(name, { leaseSeconds: 2000 })]);
      assert.deepEqual([longerBeats.status, shorterLease.status].sort(), [200, 400], `${longerBeats.text} ${shorterLease.text}`);
      const refused = longerBeats.status === 400 ? longerBeats : shorterLease;
      assert.equal(refused.body.error.code, 'heartbeat_exceeds_lease');
      const product = (await admin(server.url, 'GET', `/v1/admin/products/${name}`)).body.product;
      assert.ok(product.heartbeatIntervalSeconds < product.leaseSeconds, JSON.stringify(product));
      assert.equal((await auditOf(name)).length, 1);
    }
  });

  it('applies a shorter lease from each machine’s next heartbeat, whose token carries the new lease and interval', async () => {
    const name = await newProduct();
    const machineA = await activate(await issue(name));
    const first = claimsOf((await beat(machineA)).body.token);
    assert.equal(first.exp - first.iat, 7 * 86_400);
    assert.equal((await patch(name, { leaseSeconds: 86_400, heartbeatIntervalSeconds: 3600 })).status, 200);
    const next = claimsOf((await beat(machineA)).body.token);
    assert.equal(next.exp - next.iat, 86_400);
    assert.equal(next.heartbeat.intervalSeconds, 3600);
  });

  it('refuses a floating lease not longer than the interval machines beat at now (409 lease_shorter_than_beats); interval first, then the lease, works', async () => {
    const name = await newProduct({ seatMode: 'floating', leaseSeconds: 3600, heartbeatIntervalSeconds: 1200 });
    const res = await patch(name, { leaseSeconds: 900, heartbeatIntervalSeconds: 300 });
    assertRefusal(res, 409, 'lease_shorter_than_beats');
    assert.deepEqual(res.body.error.details, { heartbeatIntervalSeconds: 1200, leaseSeconds: 900 });
    assert.equal((await patch(name, { heartbeatIntervalSeconds: 300 })).status, 200);
    assert.equal((await patch(name, { leaseSeconds: 900 })).status, 200);
  });

  it('keeps every current seat when node-locked becomes floating; the next beat says floating; a lease shorter than the old interval is refused', async () => {
    const name = await newProduct({ leaseSeconds: 86_400, heartbeatIntervalSeconds: 3600 });
    const code = await issue(name, 2);
    const [one, two] = [await activate(code), await activate(code)];
    assertRefusal(await patch(name, { seatMode: 'floating', leaseSeconds: 3600, heartbeatIntervalSeconds: 600 }), 409, 'lease_shorter_than_beats');
    const res = await patch(name, { seatMode: 'floating', leaseSeconds: 7200, heartbeatIntervalSeconds: 600 });
    assert.equal(res.status, 200, res.text);
    const live = (await admin(server.url, 'GET', `/v1/admin/codes/${code}/activations`)).body.items;
    assert.deepEqual(
      live.map((a: any) => a.status),
      ['active', 'active'],
    );
    const claims = claimsOf((await beat(one!)).body.token);
    assert.equal(claims.license.seatMode, 'floating');
    assert.equal(claims.exp - claims.iat, 7200);
    assert.equal((await beat(two!)).status, 200);
  });

  it('frees the floating seats whose lease already lapsed when floating becomes node-locked, audited, and keeps the live ones', async () => {
    const name = await newProduct({ seatMode: 'floating', leaseSeconds: 600, heartbeatIntervalSeconds: 120, reclaim: 'soft' });
    const code = await issue(name, 2);
    const silent = await activate(code);
    server.clock.advance(20 * MINUTE);
    const beating = await activate(code);
    const res = await patch(name, { seatMode: 'node_locked' });
    assert.equal(res.status, 200, res.text);
    const byId = new Map((await admin(server.url, 'GET', `/v1/admin/codes/${code}/activations`)).body.items.map((a: any) => [a.id, a.status]));
    assert.equal(byId.get(silent.id), 'culled');
    assert.equal(byId.get(beating.id), 'active');
    // In the code's trail, where an operator looks for what happened to its machines.
    const culled = (await admin(server.url, 'GET', `/v1/admin/audit?code=${code}&action=activation.culled`)).body.items;
    assert.deepEqual(
      culled.map((e: any) => [e.entityId, e.actor, e.after]),
      [[silent.id, 'admin-api', { reason: 'seat_mode_changed' }]],
    );
    assert.equal(claimsOf((await beat(beating)).body.token).license.seatMode, 'node_locked');
  });

  it('refuses floating → node-locked while container instances hold seats (409 containers_hold_seats), and allows it once they are gone', async () => {
    const name = await newProduct({ seatMode: 'floating', containers: 'instance' });
    const pod = await activate(await issue(name), { 'instance.id': 'a'.repeat(32) } as never);
    const res = await patch(name, { seatMode: 'node_locked', containers: 'refuse' });
    assertRefusal(res, 409, 'containers_hold_seats');
    assert.equal(res.body.error.details.containers, 1);
    assert.equal((await admin(server.url, 'DELETE', `/v1/admin/activations/${pod.id}`)).status, 200);
    assert.equal((await patch(name, { seatMode: 'node_locked', containers: 'refuse' })).status, 200);
  });

  it('lets containers "instance" go back to "refuse": the instances holding seats keep beating, new ones are refused', async () => {
    const name = await newProduct({ seatMode: 'floating', containers: 'instance' });
    const code = await issue(name);
    const pod = await activate(code, { 'instance.id': 'b'.repeat(32) } as never);
    assert.equal((await patch(name, { containers: 'refuse' })).status, 200);
    assert.equal((await beat(pod)).status, 200);
    assertRefusal(await call(server.url, 'POST', '/v1/activations', { code, fingerprint: { 'instance.id': 'c'.repeat(32) } }), 403, 'container_not_allowed');
  });

  it('applies a lower churn limit to the next activation, counting what the period already holds', async () => {
    const name = await newProduct({ churnLimit: 10 });
    const code = await issue(name, 5);
    await activate(code);
    await activate(code);
    assert.equal((await patch(name, { churnLimit: 2, churnPeriodSeconds: 86_400 })).status, 200);
    assertRefusal(await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine(`late-${engine}`) }), 429, 'churn_limit_reached');
    server.clock.advance(DAY + MINUTE);
    assert.equal((await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine(`late-${engine}`) })).status, 201);
  });

  it('counts a limit set on a product that had none from the change: nothing was recorded without one', async () => {
    const name = await newProduct();
    const code = await issue(name, 5);
    await activate(code);
    await activate(code);
    assert.equal((await patch(name, { churnLimit: 1 })).status, 200);
    await activate(code);
    assertRefusal(await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine(`later-${engine}`) }), 429, 'churn_limit_reached');
  });
});
