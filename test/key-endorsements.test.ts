import { strict as assert } from 'node:assert';
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { type JwsAlgorithm, KeySet, learnEndorsedKeys, signEndorsement } from '@licensor/client/contract';
import { startServer, type RunningServer } from '../src/server';
import { cliEnv, runCli } from './support/cli';
import { TestClock, DAY } from './support/clock';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { captureLogger, testConfig } from './support/harness';
import { admin, call } from './support/http';

const ALGORITHMS: ReadonlySet<JwsAlgorithm> = new Set<JwsAlgorithm>(['EdDSA', 'ES256']);

interface Jwks {
  keys: Array<JsonWebKey & { kid: string }>;
  endorsements: string[];
}

function decode(jws: string): { header: Record<string, any>; payload: Record<string, any> } {
  const [header, payload] = jws.split('.');
  return { header: JSON.parse(Buffer.from(header!, 'base64url').toString()), payload: JSON.parse(Buffer.from(payload!, 'base64url').toString()) };
}

/** What a client that trusts only `first` learns from `endorsements`: the kids it then trusts, besides `first`. */
function learnedFrom(first: JsonWebKey, endorsements: readonly unknown[]): { kids: string[]; used: string[] } {
  const keys = new KeySet(first);
  const used = learnEndorsedKeys(endorsements, keys, ALGORITHMS);
  const kids = used.map((jws) => decode(jws).payload.endorses.kid as string).filter((kid) => keys.get(kid) !== undefined);
  return { kids, used };
}

/** The same string with the character at `i` replaced by one whose six bits differ in the highest: the decoded bytes change too. */
function alteredAt(jws: string, i: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const c = jws[i]!;
  const replacement = c === '.' ? 'A' : alphabet[alphabet.indexOf(c) ^ 0b100000]!;
  return jws.slice(0, i) + replacement + jws.slice(i + 1);
}

forEachEngine('key endorsements in the JWKS', (engine) => {
  let db: TestDatabase;
  let clock: TestClock;
  let server: RunningServer;
  /** The only key a client built before any rotation knows. */
  let first: JsonWebKey & { kid: string };
  /** Every kid in rotation order, the first one first. */
  const kids: string[] = [];

  const start = async (env: Record<string, string> = {}) => {
    server = await startServer(testConfig(db, env), captureLogger().logger, { clock });
  };
  const jwks = async (): Promise<Jwks> => {
    const res = await call<Jwks>(server.url, 'GET', '/.well-known/jwks.json');
    assert.equal(res.status, 200, res.text);
    return res.body;
  };
  const rotate = async (): Promise<string> => {
    const res = await admin(server.url, 'POST', '/v1/admin/keys/rotate');
    assert.equal(res.status, 201, res.text);
    kids.push(res.body.current.kid);
    return res.body.current.kid;
  };

  before(async () => {
    db = await createTestDatabase(engine);
    clock = new TestClock(Date.now());
    await start();
    const before = await jwks();
    assert.equal(before.keys.length, 1);
    first = before.keys[0]!;
    kids.push(first.kid);
  });
  after(async () => {
    await server?.close();
    await db?.drop();
  });

  it('publishes no endorsement before the first rotation', async () => {
    assert.deepEqual((await jwks()).endorsements, []);
  });

  for (const rotations of [1, 2, 3]) {
    it(`after ${rotations} rotation${rotations > 1 ? 's' : ''}, leads a client that trusts only the first key to the current one`, async () => {
      const current = await rotate();
      const published = await jwks();
      assert.equal(published.endorsements.length, rotations);
      const learned = learnedFrom(first, published.endorsements);
      assert.deepEqual(learned.kids, kids.slice(1), 'every key since the first, and the current one last');
      assert.equal(learned.kids.at(-1), current);
      assert.equal(learned.used.length, rotations);
    });
  }

  it('lists them oldest rotation first: each is signed by the key before the one it endorses', async () => {
    const { endorsements } = await jwks();
    assert.deepEqual(
      endorsements.map((jws) => [decode(jws).header.kid, decode(jws).payload.endorses.kid]),
      kids.slice(1).map((kid, i) => [kids[i], kid]),
    );
    for (const jws of endorsements) assert.equal(decode(jws).header.typ, 'licensor-key-endorsement+jwt');
  });

  it('endorses each key as the JWKS publishes it, with its RFC 7638 thumbprint as kid', async () => {
    const published = await jwks();
    for (const jws of published.endorsements) {
      const endorsed = decode(jws).payload.endorses as JWK & { kid: string };
      assert.equal(endorsed.kid, await calculateJwkThumbprint(endorsed, 'sha256'));
      assert.equal(endorsed.d, undefined, 'never a private part');
      const asPublished = published.keys.find((k) => k.kid === endorsed.kid);
      assert.ok(asPublished, `${endorsed.kid} is still published`);
      assert.deepEqual(endorsed, asPublished);
    }
  });

  it('keeps every endorsement once the retired keys have left the JWKS, so a client offline through all rotations still finds its way', async () => {
    clock.advance(401 * DAY); // past LICENSOR_MAX_TOKEN_LIFETIME_DAYS (400): the retired keys are no longer published
    const published = await jwks();
    assert.deepEqual(
      published.keys.map((k) => k.kid),
      [kids.at(-1)],
    );
    assert.equal(published.endorsements.length, 3);
    assert.deepEqual(learnedFrom(first, published.endorsements).kids, kids.slice(1));
  });

  it('serves the same under /v1/jwks', async () => {
    assert.deepEqual((await call(server.url, 'GET', '/v1/jwks')).body, await jwks());
  });

  it('adds nothing through an endorsement altered in any byte, cut short or lengthened', async () => {
    const [endorsement] = (await jwks()).endorsements;
    const alterations = [...endorsement!].map((_, i) => alteredAt(endorsement!, i));
    alterations.push(endorsement!.slice(0, -1), endorsement! + 'A', endorsement!.slice(1));
    for (const altered of alterations) {
      assert.notEqual(altered, endorsement);
      const keys = new KeySet(first);
      assert.deepEqual(learnEndorsedKeys([altered], keys, ALGORITHMS), [], altered);
      assert.equal(keys.size, 1);
    }
  });

  it('adds nothing through an endorsement signed by a key outside the chain, even one that names a key of the chain as its signer', async () => {
    const outsider = generateKeyPairSync('ed25519');
    const outsiderJwk = outsider.publicKey.export({ format: 'jwk' });
    const outsiderKid = await calculateJwkThumbprint(outsiderJwk as JWK, 'sha256');
    const planted = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    const plantedJwk = { ...planted, kid: await calculateJwkThumbprint(planted as JWK, 'sha256'), alg: 'EdDSA', use: 'sig' };
    const now = Math.floor(clock.now() / 1000);
    const forged = [
      // The outsider vouches for itself, then for the planted key: a chain that starts nowhere the client trusts.
      signEndorsement({ kid: outsiderKid, alg: 'EdDSA', privateKey: outsider.privateKey }, { ...outsiderJwk, kid: outsiderKid }, now),
      signEndorsement({ kid: outsiderKid, alg: 'EdDSA', privateKey: outsider.privateKey }, plantedJwk, now),
      // The outsider's signature under the first key's kid, and under the current key's.
      signEndorsement({ kid: first.kid, alg: 'EdDSA', privateKey: outsider.privateKey }, plantedJwk, now),
      signEndorsement({ kid: kids.at(-1)!, alg: 'EdDSA', privateKey: outsider.privateKey }, plantedJwk, now),
    ];
    const { endorsements } = await jwks();
    const keys = new KeySet(first);
    const used = learnEndorsedKeys([...forged, ...endorsements], keys, ALGORITHMS);
    assert.deepEqual(used, endorsements);
    assert.equal(keys.size, kids.length);
    assert.equal(keys.get(plantedJwk.kid), undefined);
    assert.equal(keys.get(outsiderKid), undefined);
  });

  it('publishes the same endorsements, in the same order, after a restart', async () => {
    const before = await jwks();
    await server.close();
    await start();
    assert.deepEqual(await jwks(), before);
  });

  it('chains across a change of algorithm: an ES256 key endorsed by an EdDSA key, and back', async () => {
    await server.close();
    await start({ LICENSOR_KEY_ALG: 'ES256' });
    const es256 = await rotate();
    await server.close();
    await start();
    const eddsa = await rotate();
    const published = await jwks();
    const [toEs256, toEdDsa] = published.endorsements.slice(-2).map(decode);
    assert.deepEqual([toEs256!.header.alg, toEs256!.payload.endorses.alg, toEs256!.payload.endorses.kid], ['EdDSA', 'ES256', es256]);
    assert.deepEqual([toEdDsa!.header.alg, toEdDsa!.payload.endorses.alg, toEdDsa!.payload.endorses.kid], ['ES256', 'EdDSA', eddsa]);
    assert.deepEqual(learnedFrom(first, published.endorsements).kids, kids.slice(1));
  });
});

forEachEngine('key endorsements from the CLI', (engine) => {
  it('endorses a key rotated in with `licensor keys rotate` like one rotated through the admin API', async () => {
    const db = await createTestDatabase(engine);
    try {
      const env = cliEnv(db);
      const listed = await runCli(['keys', 'list', '--json'], env);
      assert.equal(listed.code, 0, listed.err);
      const firstKid = listed.json[0].kid as string;
      const rotated = await runCli(['keys', 'rotate', '--json'], env);
      assert.equal(rotated.code, 0, rotated.err);
      const server = await startServer(testConfig(db), captureLogger().logger);
      try {
        const published = (await call<Jwks>(server.url, 'GET', '/.well-known/jwks.json')).body;
        const firstJwk = published.keys.find((k) => k.kid === firstKid)!;
        assert.deepEqual(learnedFrom(firstJwk, published.endorsements).kids, [rotated.json.current.kid]);
      } finally {
        await server.close();
      }
    } finally {
      await db.drop();
    }
  });
});
