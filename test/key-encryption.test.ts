import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { rotateSigningKey } from '../src/domain/signing-keys';
import { openRuntime } from '../src/runtime';
import { openDatabase } from '../src/storage/database';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, testConfig } from './support/harness';
import { admin, call } from './support/http';

forEachEngine('signing keys encrypted at rest', (engine) => {
  let db: TestDatabase;
  const kek = randomBytes(32).toString('hex');

  before(async () => {
    db = await createTestDatabase(engine);
  });
  after(async () => db?.drop());

  async function storedKeys(): Promise<Array<{ kid: string; private_key_pem: string }>> {
    const database = openDatabase({ databaseUrl: db.databaseUrl, sqliteFile: `${db.dataDir}/licensor.db` });
    try {
      return await database.knex('signing_keys').select('kid', 'private_key_pem');
    } finally {
      await database.close();
    }
  }

  it('stores no private key in the clear when a key-encryption key is configured, and signs as usual', async () => {
    const server = await startTestServer(engine, { LICENSOR_KEY_ENCRYPTION_KEY: kek, ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}), LICENSOR_DATA_DIR: db.dataDir });
    try {
      await admin(server.url, 'POST', '/v1/admin/products', { name: 'sealed' });
      const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product: 'sealed', seats: 1, days: 30 });
      const res = await call(server.url, 'POST', '/v1/activations', { code: issued.body.code.code, fingerprint: machine('sealed') });
      assert.equal(res.status, 201, res.text);
      assert.equal((await admin(server.url, 'POST', '/v1/admin/keys/rotate')).status, 201);
    } finally {
      await server.close(); // drops only the harness's own (unused) database; ours stays
    }
    const keys = await storedKeys();
    assert.equal(keys.length, 2);
    for (const key of keys) {
      assert.match(key.private_key_pem, /^enc:v1:/);
      assert.doesNotMatch(key.private_key_pem, /PRIVATE KEY/);
    }
  });

  it('starts again with the same key-encryption key', async () => {
    const runtime = await openRuntime(testConfig(db, { LICENSOR_KEY_ENCRYPTION_KEY: kek }));
    try {
      assert.ok(runtime.keyRing.currentKid);
    } finally {
      await runtime.close();
    }
  });

  it('refuses to start without it, saying which setting is missing', async () => {
    await assert.rejects(openRuntime(testConfig(db)), /encrypted at rest: set LICENSOR_KEY_ENCRYPTION_KEY/);
  });

  it('refuses to start with another key-encryption key', async () => {
    await assert.rejects(
      openRuntime(testConfig(db, { LICENSOR_KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex') })),
      /does not decrypt signing key/,
    );
  });

  it('reports a key-encryption key that is not 32 bytes as a configuration problem', () => {
    assert.throws(() => testConfig(db, { LICENSOR_KEY_ENCRYPTION_KEY: 'too-short' }), /LICENSOR_KEY_ENCRYPTION_KEY must be 32 random bytes/);
  });
});

describe('signing keys stored before a key-encryption key was configured', () => {
  it('stay readable, and keys made afterwards are encrypted', async () => {
    const db = await createTestDatabase('sqlite');
    try {
      await (await openRuntime(testConfig(db))).close();
      const sealed = await openRuntime(testConfig(db, { LICENSOR_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') }));
      try {
        assert.ok(sealed.keyRing.currentKid, 'the plain key loaded');
        await rotateSigningKey(sealed.ctx, sealed.keyPolicy, 'test');
      } finally {
        await sealed.close();
      }
      const database = openDatabase({ sqliteFile: `${db.dataDir}/licensor.db` });
      try {
        const rows = await database.knex('signing_keys').orderBy('generation').select('private_key_pem');
        assert.match(rows[0].private_key_pem, /^-----BEGIN PRIVATE KEY-----/);
        assert.match(rows[1].private_key_pem, /^enc:v1:/);
      } finally {
        await database.close();
      }
    } finally {
      await db.drop();
    }
  });
});
