import { strict as assert } from 'node:assert';
import { cliEnv, runCli } from './support/cli';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/harness';
import { admin } from './support/http';
import { expectedInstanceId, holdMarketplaceTables, marketplaceEnv, mkpId, openSideConnection, produce, type ProduceAnswer } from './support/marketplace';
import { spawnServer, type ServerProcess } from './support/processes';

/**
 * newInstance on a database held busy past LICENSOR_MARKETPLACE_BUDGET_MS (docs/marketplace.md
 * "newInstance"): every answer for one order line, concurrent or sequential, from one process or
 * two, carries the same instance id, and that instance comes to exist once the database is free.
 */

const BUDGET = { LICENSOR_MARKETPLACE_BUDGET_MS: '300' };

function assertProcessing(answers: ProduceAnswer[], instanceId: string): void {
  for (const answer of answers) {
    assert.equal(answer.body.resultCode, '000004', answer.bytes.toString());
    assert.equal(answer.body.instanceId, instanceId, answer.bytes.toString());
  }
}

/** Instances and codes stored for an order (read on a connection of its own). */
async function stored(db: TestDatabase, orderId: string): Promise<{ instances: string[]; codes: number }> {
  const side = openSideConnection(db);
  try {
    const instances = (await side('marketplace_instances').where({ order_id: orderId }).select('instance_id')).map(
      (r: { instance_id: string }) => r.instance_id,
    );
    const codes = (await side('codes').where('metadata', 'like', `%${orderId}%`)).length;
    return { instances, codes };
  } finally {
    await side.destroy();
  }
}

forEachEngine('newInstance while the database is too slow for the budget, in one process', (engine) => {
  let server: TestServer;
  const product = `slow-one-${engine}`;

  before(async () => {
    server = await startTestServer(engine, marketplaceEnv(product, BUDGET));
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
  });
  after(async () => server?.close());

  const newInstance = (orderId: string) =>
    produce(server.url, { activity: 'newInstance', orderId, orderLineId: `${orderId}-000001`, businessId: mkpId('BIZ') }, { now: server.clock.now() });

  it('answers 000004 with the same instance id to concurrent and sequential retries, and that instance comes to exist', async () => {
    const orderId = mkpId('ORDER');
    const instanceId = expectedInstanceId(orderId, `${orderId}-000001`);
    const release = await holdMarketplaceTables(server.db);
    const answers: ProduceAnswer[] = [];
    try {
      answers.push(...(await Promise.all(Array.from({ length: 5 }, () => newInstance(orderId)))));
      answers.push(await newInstance(orderId));
      answers.push(await newInstance(orderId));
    } finally {
      await release();
    }
    assertProcessing(answers, instanceId);

    await server.running.runtime.background.settled();
    const query = await produce(server.url, { activity: 'queryInstance', instanceId }, { now: server.clock.now() });
    assert.equal(query.body.resultCode, '000000', query.bytes.toString());
    assert.equal(query.body.info[0].instanceId, instanceId);
    assert.deepEqual(await stored(server.db, orderId), { instances: [instanceId], codes: 1 });
    const retry = await newInstance(orderId);
    assert.equal(retry.body.resultCode, '000000');
    assert.equal(retry.body.instanceId, instanceId);
  });
});

forEachEngine('newInstance while the database is too slow for the budget, across two server processes', (engine) => {
  let db: TestDatabase;
  let servers: ServerProcess[] = [];
  const product = `slow-two-${engine}`;

  before(async function () {
    this.timeout(60_000);
    db = await createTestDatabase(engine);
    assert.equal((await runCli(['products', 'create', '--name', product], cliEnv(db))).code, 0);
    const env = { ...cliEnv(db, { LICENSOR_ADMIN_TOKEN: ADMIN_TOKEN, LICENSOR_LOG_LEVEL: 'warn' }), ...marketplaceEnv(product, BUDGET) };
    servers = await Promise.all([spawnServer(env), spawnServer(env)]);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await db?.drop();
  });

  const newInstance = (server: ServerProcess, orderId: string) =>
    produce(server.url, { activity: 'newInstance', orderId, orderLineId: `${orderId}-000001`, businessId: mkpId('BIZ') }, { now: Date.now() });

  it('answers the same instance id from both processes, first to one and then to the other, and at once to both; the instance comes to exist once', async function () {
    this.timeout(60_000);
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const orderId = mkpId('ORDER');
    const instanceId = expectedInstanceId(orderId, `${orderId}-000001`);
    const release = await holdMarketplaceTables(db);
    const answers: ProduceAnswer[] = [];
    try {
      answers.push(await newInstance(a, orderId));
      answers.push(await newInstance(b, orderId));
      answers.push(...(await Promise.all(Array.from({ length: 6 }, (_, i) => newInstance(servers[i % 2]!, orderId)))));
    } finally {
      await release();
    }
    assertProcessing(answers, instanceId);

    // The marketplace asks queryInstance later: each process finds the instance once the late work has stored it.
    for (const server of servers) {
      let query: ProduceAnswer | undefined;
      for (let attempt = 0; attempt < 200 && query?.body.resultCode !== '000000'; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
        query = await produce(server.url, { activity: 'queryInstance', instanceId }, { now: Date.now() });
      }
      assert.equal(query?.body.resultCode, '000000', query?.bytes.toString());
      assert.equal(query?.body.info[0].instanceId, instanceId);
    }
    assert.deepEqual(await stored(db, orderId), { instances: [instanceId], codes: 1 });
    for (const server of servers) assert.equal((await newInstance(server, orderId)).body.instanceId, instanceId);
  });
});
