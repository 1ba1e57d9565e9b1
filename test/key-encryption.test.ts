import { strict as assert } from 'node:assert';
import { createCipheriv, randomBytes } from 'node:crypto';
import { rotateSigningKey } from '../src/domain/signing-keys';
import { openRuntime, type Runtime } from '../src/runtime';
import { keySealer } from '../src/storage/key-sealing';
import { generateSigningKey } from '../src/tokens/key-material';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, testConfig } from './support/harness';
import { admin, call } from './support/http';
import { serverEnv, startLog } from './support/processes';
import { storedKeys, writeStoredKey } from './support/stored-keys';

forEachEngine('signing keys encrypted at rest', (engine) => {
  let db: TestDatabase;
  const kek = randomBytes(32).toString('hex');

  before(async () => {
    db = await createTestDatabase(engine);
  });
  after(async () => db?.drop());

  it('stores no private key in the clear when a key-encryption key is configured, and signs as usual', async () => {
    const server = await startTestServer(engine, {
      LICENSOR_KEY_ENCRYPTION_KEY: kek,
      ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
      LICENSOR_DATA_DIR: db.dataDir,
    });
    try {
      await admin(server.url, 'POST', '/v1/admin/products', { name: 'sealed' });
      const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product: 'sealed', seats: 1, days: 30 });
      const res = await call(server.url, 'POST', '/v1/activations', { code: issued.body.code.code, fingerprint: machine('sealed') });
      assert.equal(res.status, 201, res.text);
      assert.equal((await admin(server.url, 'POST', '/v1/admin/keys/rotate')).status, 201);
    } finally {
      await server.close(); // drops only the harness's own (unused) database; ours stays
    }
    const [retired, current] = await storedKeys(db);
    assert.equal(retired!.private_key_pem, null, 'a retired key keeps no private half at all');
    assert.match(current!.private_key_pem!, /^enc:v1:/);
    assert.doesNotMatch(current!.private_key_pem!, /PRIVATE KEY/);
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
    await assert.rejects(openRuntime(testConfig(db, { LICENSOR_KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex') })), /does not decrypt signing key/);
  });

  it('reports a key-encryption key that is not 32 bytes as a configuration problem', () => {
    assert.throws(() => testConfig(db, { LICENSOR_KEY_ENCRYPTION_KEY: 'too-short' }), /LICENSOR_KEY_ENCRYPTION_KEY must be 32 random bytes/);
  });
});

forEachEngine('signing keys stored unsealed, once a key-encryption key is set', (engine) => {
  let db: TestDatabase;
  const kek = randomBytes(32).toString('hex');
  let runtime: Runtime | undefined;

  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
    await db?.drop();
  });

  it('are sealed at the next start, audited, and sign on as the same key', async () => {
    const unsealed = await openRuntime(testConfig(db));
    const kid = unsealed.keyRing.currentKid!;
    const before = await unsealed.keyRing.signAnswer(Buffer.from('the same input'));
    await unsealed.close();
    assert.match((await storedKeys(db))[0]!.private_key_pem!, /^-----BEGIN PRIVATE KEY-----/);

    runtime = await openRuntime(testConfig(db, { LICENSOR_KEY_ENCRYPTION_KEY: kek }));
    assert.deepEqual(runtime.atRest.sealed, [kid]);
    const [row] = await storedKeys(db);
    assert.match(row!.private_key_pem!, /^enc:v1:/);
    assert.doesNotMatch(row!.private_key_pem!, /PRIVATE KEY/);
    assert.equal(runtime.keyRing.currentKid, kid);
    // Ed25519 signatures are deterministic: the same key gives the same signature.
    assert.equal(await runtime.keyRing.signAnswer(Buffer.from('the same input')), before);
    const audit = await runtime.ctx.repo.audit.list({ action: 'key.sealed' }, 10, null);
    assert.deepEqual(
      audit.items.map((e) => [e.entityId, e.actor, e.after]),
      [[kid, 'system', { privateKey: 'sealed' }]],
    );
  });

  it('seal nothing at a later start', async () => {
    await (await openRuntime(testConfig(db))).close();
    await (await openRuntime(testConfig(db, { LICENSOR_KEY_ENCRYPTION_KEY: kek }))).close();
    runtime = await openRuntime(testConfig(db, { LICENSOR_KEY_ENCRYPTION_KEY: kek }));
    assert.deepEqual(runtime.atRest.sealed, []);
  });

  it('are refused once the server runs: an unsealed key read with the key-encryption key set is an error that says what to do', async () => {
    runtime = await openRuntime(testConfig(db, { LICENSOR_KEY_ENCRYPTION_KEY: kek }));
    const kid = runtime.keyRing.currentKid!;
    await writeStoredKey(db, kid, (await generateSigningKey('EdDSA', 1, Date.now())).privateKeyPem!);
    const refusal =
      /signing key \S+ is stored unsealed although LICENSOR_KEY_ENCRYPTION_KEY is set .*restart licensor with LICENSOR_KEY_ENCRYPTION_KEY set, which seals it at start/;
    await assert.rejects(runtime.reloadKeys(), refusal);
    await assert.rejects(rotateSigningKey(runtime.ctx, runtime.keyPolicy, 'test'), refusal);
    assert.equal(runtime.keyRing.currentKid, kid, 'the loaded key signs on');
  });

  it('refuse a sealed key whose tag is cut short, and one whose ciphertext is', async () => {
    await (await openRuntime(testConfig(db, { LICENSOR_KEY_ENCRYPTION_KEY: kek }))).close();
    const [row] = await storedKeys(db);
    const sealed = Buffer.from(row!.private_key_pem!.slice('enc:v1:'.length), 'base64url');
    const config = testConfig(db, { LICENSOR_KEY_ENCRYPTION_KEY: kek });
    // iv (12 bytes) and the first 8 bytes of the 16-byte tag: GCM would check 8 bytes if asked to.
    await writeStoredKey(db, row!.kid, 'enc:v1:' + sealed.subarray(0, 20).toString('base64url'));
    await assert.rejects(openRuntime(config), /signing key \S+ is damaged at rest: its sealed value is too short to hold a 16-byte tag/);
    await writeStoredKey(db, row!.kid, 'enc:v1:' + sealed.subarray(0, sealed.length - 1).toString('base64url'));
    await assert.rejects(openRuntime(config), /does not decrypt signing key/);
    await writeStoredKey(db, row!.kid, row!.private_key_pem!);
    runtime = await openRuntime(config);
    assert.equal(runtime.keyRing.currentKid, row!.kid);
  });
});

describe('a key sealed with a shorter GCM tag', () => {
  it('does not open: the tag length is fixed at 16 bytes', () => {
    const kek = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: 8 }).setAAD(Buffer.from('kid'));
    const body = Buffer.concat([cipher.update('-----BEGIN PRIVATE KEY-----'), cipher.final()]);
    const shortTagged = 'enc:v1:' + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    assert.throws(() => keySealer(kek).open('kid', shortTagged), /does not decrypt signing key kid/);
    const sealed = keySealer(kek).seal('kid', '-----BEGIN PRIVATE KEY-----');
    assert.equal(keySealer(kek).open('kid', sealed), '-----BEGIN PRIVATE KEY-----');
  });
});

forEachEngine('licensor serve and how the keys are stored', (engine) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });
  afterEach(async () => db?.drop());

  const unsealedWarning = (stdout: string) =>
    stdout
      .split('\n')
      .filter((line) => line.includes('signing keys are stored unsealed'))
      .map((line) => JSON.parse(line) as { level: number; msg: string });

  it('warns at start while the signing keys are stored unsealed, and says how to seal them', async () => {
    const [warning, ...more] = unsealedWarning(await startLog(serverEnv(db)));
    assert.equal(more.length, 0);
    assert.equal(warning!.level, 40);
    assert.match(warning!.msg, /set LICENSOR_KEY_ENCRYPTION_KEY \(openssl rand -hex 32\) for every licensor process and the CLI, and restart/);
  });

  it('does not warn with a key-encryption key', async () => {
    assert.deepEqual(unsealedWarning(await startLog(serverEnv(db, { LICENSOR_KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex') }))), []);
  });
});
