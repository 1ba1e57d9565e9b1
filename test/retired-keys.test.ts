import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { rotateSigningKey } from '../src/domain/signing-keys';
import type { SigningKey } from '../src/domain/types';
import { openRuntime, type Runtime } from '../src/runtime';
import { startServer, type RunningServer } from '../src/server';
import { keySealer } from '../src/storage/key-sealing';
import { MIGRATIONS } from '../src/storage/migrate';
import { generateSigningKey } from '../src/tokens/key-material';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { machine } from './support/factories';
import { captureLogger, testConfig } from './support/harness';
import { admin, call } from './support/http';
import { besideLicensor, storedKeys } from './support/stored-keys';

function kidOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid;
}

forEachEngine('a retired signing key', (engine) => {
  let db: TestDatabase;
  let server: RunningServer;
  let activation: { id: string; token: string; secret: string };
  let retiredKid: string;
  let currentKid: string;

  before(async () => {
    db = await createTestDatabase(engine);
    server = await startServer(testConfig(db), captureLogger().logger);
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'retiring' });
    const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product: 'retiring', seats: 1, days: 30 });
    const activated = await call(server.url, 'POST', '/v1/activations', { code: issued.body.code.code, fingerprint: machine('retiring') });
    assert.equal(activated.status, 201, activated.text);
    activation = { id: activated.body.activation.id, token: activated.body.token, secret: activated.body.activation.secret };
    retiredKid = kidOf(activation.token);
    const rotated = await admin(server.url, 'POST', '/v1/admin/keys/rotate');
    assert.equal(rotated.status, 201, rotated.text);
    currentKid = rotated.body.current.kid;
  });
  after(async () => {
    await server?.close();
    await db?.drop();
  });

  it('loses its private half in the database at the rotation; the new key keeps its own', async () => {
    const rows = await storedKeys(db);
    assert.deepEqual(
      rows.map((r) => [r.kid, r.status, r.private_key_pem === null]),
      [
        [retiredKid, 'retired', true],
        [currentKid, 'active', false],
      ],
    );
  });

  it('signs nothing after the rotation: tokens come from the new key', async () => {
    const beat = await call(server.url, 'POST', '/v1/heartbeat', { activationId: activation.id, secret: activation.secret, fingerprint: machine('retiring') });
    assert.equal(beat.status, 200, beat.text);
    assert.equal(kidOf(beat.body.token), currentKid);
    assert.equal(server.runtime.keyRing.currentKid, currentKid);
  });

  it('still verifies what it signed: its token proves the holder of the activation', async () => {
    const res = await call(server.url, 'DELETE', `/v1/activations/${activation.id}`, undefined, { authorization: `Bearer ${activation.token}` });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.activation.status, 'deactivated');
  });
});

/** A database as licensor left it before retired keys lost their private half: schema up to 009, keys written in full. */
async function olderDatabase(db: TestDatabase, keys: SigningKey[], sealWith?: Buffer): Promise<void> {
  const older = Object.keys(MIGRATIONS).filter((name) => name < '011');
  const source: Knex.MigrationSource<string> = {
    getMigrations: async () => older,
    getMigrationName: (name) => name,
    getMigration: async (name) => MIGRATIONS[name]!,
  };
  const sealer = keySealer(sealWith);
  await besideLicensor(db, async ({ knex }) => {
    await knex.migrate.latest({ migrationSource: source, tableName: 'licensor_migrations' });
    for (const key of keys) {
      await knex('signing_keys').insert({
        kid: key.kid,
        generation: key.generation,
        alg: key.alg,
        public_jwk: JSON.stringify(key.publicJwk),
        // Keys from before the key-encryption key stay unsealed, as the old rotation left them.
        private_key_pem: sealWith && key.status === 'active' ? sealer.seal(key.kid, key.privateKeyPem!) : key.privateKeyPem,
        status: key.status,
        created_at: key.createdAt,
        retired_at: key.retiredAt,
        publish_until: key.publishUntil,
      });
    }
  });
}

forEachEngine('signing keys of a database from before public-only retirement', (engine) => {
  let db: TestDatabase;
  let runtime: Runtime | undefined;
  let keys: SigningKey[];

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    const now = Date.now();
    const [first, second] = [await generateSigningKey('EdDSA', 1, now - 1000), await generateSigningKey('EdDSA', 2, now)];
    keys = [{ ...first!, status: 'retired', retiredAt: now, publishUntil: now + 1000 }, second!];
  });
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
    await db?.drop();
  });

  it('drop the private half of retired keys at the first start, audited, and sign with the current key as before', async () => {
    await olderDatabase(db, keys);
    runtime = await openRuntime(testConfig(db));
    assert.deepEqual(runtime.atRest.dropped, [keys[0]!.kid]);
    assert.deepEqual(
      (await storedKeys(db)).map((r) => r.private_key_pem),
      [null, keys[1]!.privateKeyPem],
    );
    assert.match(await runtime.keyRing.signAnswer(Buffer.from('signed')), new RegExp(`^kid="${keys[1]!.kid}"`));
    const audit = await runtime.ctx.repo.audit.list({ action: 'key.private_half_dropped' }, 10, null);
    assert.deepEqual(
      audit.items.map((e) => [e.entityId, e.actor]),
      [[keys[0]!.kid, 'system']],
    );
    // The next rotation is the first endorsed one: the current key endorses its successor.
    const rotated = await rotateSigningKey(runtime.ctx, runtime.keyPolicy, 'test');
    await runtime.reloadKeys();
    const { endorsements } = runtime.keyRing.jwks(Date.now());
    assert.equal(endorsements.length, 1);
    assert.equal(JSON.parse(Buffer.from(endorsements[0]!.split('.')[0]!, 'base64url').toString()).kid, keys[1]!.kid);
    assert.equal(rotated.current.endorsement, endorsements[0]);
  });

  it('drop nothing at later starts', async () => {
    await olderDatabase(db, keys);
    await (await openRuntime(testConfig(db))).close();
    runtime = await openRuntime(testConfig(db));
    assert.deepEqual(runtime.atRest.dropped, []);
    assert.equal((await runtime.ctx.repo.audit.list({ action: 'key.private_half_dropped' }, 10, null)).items.length, 1);
  });

  it('with a key-encryption key added before the last rotation: the retired key loses its unsealed private half, the sealed current key signs', async () => {
    const kek = randomBytes(32);
    await olderDatabase(db, keys, kek);
    runtime = await openRuntime(testConfig(db, { LICENSOR_KEY_ENCRYPTION_KEY: kek.toString('hex') }));
    const rows = await storedKeys(db);
    assert.equal(rows[0]!.private_key_pem, null);
    assert.match(rows[1]!.private_key_pem!, /^enc:v1:/);
    assert.deepEqual(runtime.atRest, { tightened: [], dropped: [keys[0]!.kid], sealed: [] });
    assert.match(await runtime.keyRing.signAnswer(Buffer.from('signed')), new RegExp(`^kid="${keys[1]!.kid}"`));
  });
});
