import { strict as assert } from 'node:assert';
import sqlite3 from 'sqlite3';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { machine } from './support/factories';
import { admin, call } from './support/http';
import { serverEnv, spawnServer } from './support/processes';

const CLIENTS = 8;
const SEATS = 3;

forEachEngine('a server killed with SIGKILL under load', (engine) => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase(engine);
  });
  after(async () => db?.drop());

  const env = () => serverEnv(db);

  it('keeps every acknowledged activation, double-counts no seat, and leaves a sound database', async function () {
    this.timeout(60_000);
    let server = await spawnServer(env());
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'crash' });
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) codes.push((await admin(server.url, 'POST', '/v1/admin/codes', { product: 'crash', seats: SEATS, days: 30 })).body.code.code);

    const acknowledged = new Map<string, string>(); // activation id -> code
    let requests = 0;
    let killed = false;
    const client = async (n: number) => {
      // Each client activates machine after machine, beating once after each activation, until the kill.
      for (let i = 0; !killed && i < 200; i++) {
        const code = codes[(n + i) % codes.length]!;
        try {
          const res = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine(`c${n}-m${i}`) });
          if (res.status === 200 || res.status === 201) acknowledged.set(res.body.activation.id, code);
          if (res.status === 201)
            await call(server.url, 'POST', '/v1/heartbeat', {
              activationId: res.body.activation.id,
              secret: res.body.activation.secret,
              fingerprint: machine(`c${n}-m${i}`),
            });
          if (res.status === 201 && i % 2 === 0) {
            await call(server.url, 'DELETE', `/v1/activations/${res.body.activation.id}`, { token: res.body.token });
            acknowledged.delete(res.body.activation.id);
          }
        } catch {
          return; // the server is gone
        }
        if (++requests === 120) {
          killed = true;
          server.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
    assert.ok(killed, 'the server was killed mid-load');

    server = await spawnServer(env());
    try {
      for (const code of codes) {
        const list = await admin(server.url, 'GET', `/v1/admin/codes/${code}/activations`);
        const active = list.body.items.filter((a: { status: string }) => a.status === 'active');
        assert.ok(active.length <= SEATS, `${active.length} active seats on a ${SEATS}-seat code`);
      }
      for (const [id] of acknowledged) {
        const shown = await admin(server.url, 'GET', `/v1/admin/activations/${id}`);
        assert.equal(shown.status, 200, `acknowledged activation ${id} survived`);
        assert.equal(shown.body.activation.status, 'active');
      }
    } finally {
      await server.stop();
    }
    if (engine === 'sqlite') {
      const file = new sqlite3.Database(`${db.dataDir}/licensor.db`, sqlite3.OPEN_READONLY);
      const result = await new Promise<string>((resolve, reject) =>
        file.get('PRAGMA integrity_check', (err: Error | null, row: { integrity_check: string }) => (err ? reject(err) : resolve(row.integrity_check))),
      );
      await new Promise((r) => file.close(r));
      assert.equal(result, 'ok');
    }
  });
});
