import { strict as assert } from 'node:assert';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import sqlite3 from 'sqlite3';
import { startProcess, type Running } from '../bench/support';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';

/**
 * The activation floor (bench/activation-floor.ts) is a baseline only if it does an activation's
 * least work for real: a seat taken exactly and durably on the engine, a lease signed for it, and
 * the seat freed only for a token it signed.
 */
forEachEngine('the activation floor of the benchmark', (engine) => {
  let db: TestDatabase;
  let floor: Running;
  let seatsUsed: () => Promise<number>;

  before(async function () {
    this.timeout(20_000);
    db = await createTestDatabase(engine);
    const where = db.databaseUrl ?? join(db.dataDir, 'floor.db');
    floor = await startProcess([join(__dirname, '..', 'bench', 'activation-floor.js'), engine, where, '2']);
    seatsUsed = async () => {
      const sql = "SELECT used FROM floor_codes WHERE code = 'floor-0'";
      if (db.databaseUrl) {
        const client = new pg.Client({ connectionString: db.databaseUrl });
        await client.connect();
        try {
          return Number((await client.query<{ used: number }>(sql)).rows[0]!.used);
        } finally {
          await client.end();
        }
      }
      const file = new sqlite3.Database(where, sqlite3.OPEN_READONLY);
      const row = await new Promise<{ used: number }>((resolve, reject) => file.get(sql, (err, r: { used: number }) => (err ? reject(err) : resolve(r))));
      await new Promise((resolve) => file.close(resolve));
      return row.used;
    };
  });

  after(async () => {
    await floor?.stop();
    await db?.drop();
  });

  const request = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${floor.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('takes a seat in the database and signs a lease carrying the nonce; frees it once, for its own token only', async () => {
    const activated = await request(
      'POST',
      '/v1/activations',
      { code: 'floor-0', fingerprint: { 'os.machineId': 'a'.repeat(32) } },
      { 'licensor-nonce': 'n'.repeat(22) },
    );
    assert.equal(activated.status, 201);
    const answer = (await activated.json()) as { activation: { id: string }; secret: string; token: string };
    const claims = JSON.parse(Buffer.from(answer.token.split('.')[1]!, 'base64url').toString('utf8')) as { activation: { id: string }; nonce: string };
    assert.equal(claims.activation.id, answer.activation.id);
    assert.equal(claims.nonce, 'n'.repeat(22));
    assert.equal(answer.secret.length, 43, 'a 32-byte secret, base64url');
    assert.equal(await seatsUsed(), 1);

    const [h, p, s] = answer.token.split('.');
    const forged = `${h}.${p}.${Buffer.from(s!, 'base64url').reverse().toString('base64url')}`;
    const refused = await request('DELETE', `/v1/activations/${answer.activation.id}`, undefined, { authorization: `Bearer ${forged}` });
    assert.equal(refused.status, 403);
    assert.equal(await seatsUsed(), 1);

    const freed = await request('DELETE', `/v1/activations/${answer.activation.id}`, undefined, { authorization: `Bearer ${answer.token}` });
    assert.equal(freed.status, 200);
    assert.equal(await seatsUsed(), 0);
    const again = await request('DELETE', `/v1/activations/${answer.activation.id}`, undefined, { authorization: `Bearer ${answer.token}` });
    assert.equal(again.status, 404);
    assert.equal(await seatsUsed(), 0);
  });

  it('refuses a code it does not have without taking a seat', async () => {
    const refused = await request('POST', '/v1/activations', { code: 'floor-9', fingerprint: {} });
    assert.equal(refused.status, 409);
    assert.equal(await seatsUsed(), 0);
  });

  // As licensor's writer: the last write goes with COMMIT, its values written in, and the WAL is
  // copied into the database file beside the writer, not in its commits.
  if (engine === 'sqlite')
    it('writes the values it sends with COMMIT exactly, and checkpoints them into the database file in the background', async function () {
      this.timeout(20_000);
      const fingerprint = { 'os.machineId': "it's '' quoted" };
      const activated = await request('POST', '/v1/activations', { code: 'floor-1', fingerprint });
      assert.equal(activated.status, 201);
      const { activation } = (await activated.json()) as { activation: { id: string } };
      // The database file alone, without its WAL: what a checkpoint has copied into it.
      const copy = join(db.dataDir, 'floor-file-only.db');
      const readCopy = async () => {
        copyFileSync(join(db.dataDir, 'floor.db'), copy);
        const file = new sqlite3.Database(copy, sqlite3.OPEN_READONLY);
        try {
          return await new Promise<Array<{ fingerprint: string }>>((resolve, reject) =>
            file.all('SELECT fingerprint FROM floor_activations WHERE id = ?', [activation.id], (err, rows: Array<{ fingerprint: string }>) =>
              // Before the first checkpoint the file has not even the tables.
              err && !/no such table/.test(err.message) ? reject(err) : resolve(rows ?? []),
            ),
          );
        } finally {
          await new Promise((resolve) => file.close(resolve));
          rmSync(copy, { force: true });
        }
      };
      const deadline = Date.now() + 10_000;
      let rows = await readCopy();
      while (rows.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        rows = await readCopy();
      }
      assert.deepEqual(rows, [{ fingerprint: JSON.stringify(fingerprint) }]);
    });
});
