import { strict as assert } from 'node:assert';
import { DAY, HOUR } from './support/clock';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';
import { serverEnv, spawnServer, type ServerProcess } from './support/processes';

forEachEngine('churn limits', (engine) => {
  let server: TestServer;
  const product = `churny-${engine}`;

  before(async () => {
    server = await startTestServer(engine);
    const made = await admin(server.url, 'POST', '/v1/admin/products', { name: product, churnLimit: 3, churnPeriodSeconds: 86_400 });
    assert.equal(made.status, 201, made.text);
    assert.equal(made.body.product.churnLimit, 3);
    assert.equal(made.body.product.churnPeriodSeconds, 86_400);
  });
  after(async () => server?.close());

  async function issue(seats: number): Promise<string> {
    const res = await admin(server.url, 'POST', '/v1/admin/codes', { product, seats, days: 30 });
    assert.equal(res.status, 201, res.text);
    return res.body.code.code;
  }
  const activate = (code: string, name: string) => call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine(name) });
  const deactivate = (answer: { body: { activation: { id: string }; token: string } }) =>
    call(server.url, 'DELETE', `/v1/activations/${answer.body.activation.id}`, undefined, { authorization: `Bearer ${answer.body.token}` });

  it('refuses the activation past N activations + deactivations per period with 429 churn_limit_reached, the reset time and Retry-After', async () => {
    const code = await issue(10);
    const first = await activate(code, 'hop-a');
    assert.equal(first.status, 201);
    assert.equal((await activate(code, 'hop-b')).status, 201);
    server.clock.advance(HOUR);
    assert.equal((await deactivate(first)).status, 200);
    const refused = await activate(code, 'hop-c');
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.body.error.code, 'churn_limit_reached');
    assert.equal(refused.body.error.details.limit, 3);
    assert.equal(refused.body.error.details.periodSeconds, 86_400);
    // The oldest of the three events frees its unit a day after it happened, i.e. 23 h from now.
    assert.equal(refused.body.error.details.resetsAt, new Date(server.clock.now() - HOUR + DAY).toISOString());
    assert.equal(refused.headers.get('retry-after'), String(23 * 3600));
    const machines = await admin(server.url, 'GET', `/v1/admin/codes/${code}/activations`);
    assert.deepEqual(machines.body.items.map((a: { status: string }) => a.status).sort(), ['active', 'deactivated'], 'the refusal changed nothing');
  });

  it('allows the next change once the oldest event has left the period (a sliding window)', async () => {
    const code = await issue(10);
    for (const name of ['slide-a', 'slide-b', 'slide-c']) {
      assert.equal((await activate(code, name)).status, 201);
      server.clock.advance(HOUR);
    }
    assert.equal((await activate(code, 'slide-d')).status, 429);
    server.clock.advance(DAY - 3 * HOUR + 1);
    assert.equal((await activate(code, 'slide-d')).status, 201, 'the first event is now older than a day');
    assert.equal((await activate(code, 'slide-e')).status, 429, 'the second one is not yet');
  });

  it('does not count the same machine activating again: it gets its own seat back, nothing is taken or freed', async () => {
    const code = await issue(10);
    const first = await activate(code, 'reinstalled');
    for (let i = 0; i < 5; i++) {
      const again = await activate(code, 'reinstalled');
      assert.equal(again.status, 200);
      assert.equal(again.body.activation.id, first.body.activation.id);
    }
    assert.equal((await activate(code, 'second-box')).status, 201);
    assert.equal((await activate(code, 'third-box')).status, 201);
    assert.equal((await activate(code, 'fourth-box')).status, 429, 'three new seats, the re-activations were free');
  });

  it("refuses the client's deactivation past the limit and keeps its seat; the operator's deactivation is neither refused nor counted", async () => {
    const code = await issue(10);
    const a = await activate(code, 'stay-a');
    const b = await activate(code, 'stay-b');
    const c = await activate(code, 'stay-c');
    const refused = await deactivate(a);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'churn_limit_reached');
    assert.equal((await admin(server.url, 'GET', `/v1/admin/activations/${a.body.activation.id}`)).body.activation.status, 'active');
    assert.equal((await admin(server.url, 'DELETE', `/v1/admin/activations/${b.body.activation.id}`)).status, 200);
    assert.equal((await admin(server.url, 'DELETE', `/v1/admin/activations/${c.body.activation.id}`)).status, 200);
    assert.equal((await activate(code, 'stay-d')).status, 429, 'operator deactivations gave no budget back either');
  });

  it('counts exactly under concurrency: 3 of 30 racing activations on a 50-seat code', async () => {
    const code = await issue(50);
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => activate(code, `racer-${engine}-${i}`)));
    const statuses = answers.map((a) => a.status);
    assert.equal(statuses.filter((s) => s === 201).length, 3, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 27, statuses.join(','));
    const machines = await admin(server.url, 'GET', `/v1/admin/codes/${code}/activations`);
    assert.equal(machines.body.items.length, 3);
  });

  it('counts exactly when deactivations race activations', async () => {
    const code = await issue(50);
    const held = [await activate(code, 'mix-a'), await activate(code, 'mix-b')];
    const answers = await Promise.all([...held.map(deactivate), ...Array.from({ length: 10 }, (_, i) => activate(code, `mix-new-${i}`))]);
    assert.equal(answers.filter((a) => a.status === 200 || a.status === 201).length, 1, answers.map((a) => a.status).join(','));
  });

  it('leaves products without a limit unlimited (the default)', async () => {
    const free = `unlimited-${engine}`;
    const made = await admin(server.url, 'POST', '/v1/admin/products', { name: free });
    assert.equal(made.body.product.churnLimit, null);
    const code = (await admin(server.url, 'POST', '/v1/admin/codes', { product: free, seats: 1, days: 30 })).body.code.code;
    for (let i = 0; i < 6; i++) {
      const on = await activate(code, `free-${i}`);
      assert.equal(on.status, 201);
      assert.equal((await deactivate(on)).status, 200);
    }
  });
});

forEachEngine('churn limits across server processes', (engine) => {
  let db: TestDatabase;
  let servers: ServerProcess[] = [];

  before(async function () {
    this.timeout(60_000);
    db = await createTestDatabase(engine);
    const env = serverEnv(db);
    servers = [await spawnServer(env)];
    servers.push(await spawnServer(env));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await db?.drop();
  });

  it('counts the changes made through one process in the other (persisted, not in memory), and races exactly', async () => {
    const [one, two] = servers;
    assert.equal((await admin(one!.url, 'POST', '/v1/admin/products', { name: 'hopping', churnLimit: 4 })).status, 201);
    const code = (await admin(one!.url, 'POST', '/v1/admin/codes', { product: 'hopping', seats: 50, days: 30 })).body.code.code;
    assert.equal((await call(one!.url, 'POST', '/v1/activations', { code, fingerprint: machine('proc-first') })).status, 201);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(servers[i % 2]!.url, 'POST', '/v1/activations', { code, fingerprint: machine(`proc-${i}`) })),
    );
    assert.equal(answers.filter((a) => a.status === 201).length, 3, answers.map((a) => a.status).join(','));
    assert.equal((await call(two!.url, 'POST', '/v1/activations', { code, fingerprint: machine('proc-late') })).body.error.code, 'churn_limit_reached');
  });
});
