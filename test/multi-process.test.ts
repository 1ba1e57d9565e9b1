import { strict as assert } from 'node:assert';
import { forEachEngine, createTestDatabase, type TestDatabase } from './support/databases';
import { admin, call } from './support/http';
import { machine } from './support/factories';
import { serverEnv, spawnServer, type ServerProcess } from './support/processes';

forEachEngine('two server processes sharing one database', (engine) => {
  let db: TestDatabase;
  let servers: ServerProcess[] = [];

  before(async function () {
    this.timeout(60_000);
    db = await createTestDatabase(engine);
    const env = serverEnv(db);
    // Both start at the same moment on an empty database: migrations and the first key must not collide.
    servers = await Promise.all([spawnServer(env), spawnServer(env)]);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await db?.drop();
  });

  it('both come up on a fresh database and agree on one signing key', async () => {
    const [a, b] = await Promise.all(servers.map((s) => call(s.url, 'GET', '/.well-known/jwks.json')));
    assert.equal(a!.body.keys.length, 1);
    assert.deepEqual(a!.body, b!.body);
    for (const s of servers) assert.equal((await call(s.url, 'GET', '/readyz')).status, 200);
  });

  it('grant exactly 5 of 50 activations racing through both processes on a 5-seat code', async () => {
    const [first, second] = servers;
    assert.equal((await admin(first!.url, 'POST', '/v1/admin/products', { name: 'shared' })).status, 201);
    const issued = await admin(second!.url, 'POST', '/v1/admin/codes', { product: 'shared', seats: 5, days: 30 });
    const code = issued.body.code.code;
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => call(servers[i % 2]!.url, 'POST', '/v1/activations', { code, fingerprint: machine(`two-proc-${i}`) })),
    );
    const statuses = answers.map((a) => a.status);
    assert.equal(statuses.filter((s) => s === 201).length, 5, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 409).length, 45, statuses.join(','));
    const activations = await admin(first!.url, 'GET', `/v1/admin/codes/${code}/activations`);
    assert.equal(activations.body.items.length, 5);
  });

  it('give one machine racing itself through both processes a single seat', async () => {
    const issued = await admin(servers[0]!.url, 'POST', '/v1/admin/codes', { product: 'shared', seats: 3, days: 30 });
    const code = issued.body.code.code;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call(servers[i % 2]!.url, 'POST', '/v1/activations', { code, fingerprint: machine('same-box') })),
    );
    assert.deepEqual(new Set(answers.map((a) => a.body.activation.id)).size, 1);
    assert.equal(answers.filter((a) => a.status === 201).length, 1);
  });

  it('stop cleanly on SIGTERM', async () => {
    const codes = await Promise.all(servers.map((s) => s.stop('SIGTERM')));
    assert.deepEqual(codes, [0, 0]);
    servers = [];
  });
});
