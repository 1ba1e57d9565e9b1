import { strict as assert } from 'node:assert';
import { generateAuthorizationCode } from '../src/domain/authorization-code';
import { DAY } from './support/clock';
import { skipWithoutPostgres, createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin } from './support/http';
import { issueCode } from './support/license-clients';
import { postFrom } from './support/loopback';
import { openSideConnection } from './support/marketplace';
import { serverEnv, spawnServer, type ServerProcess } from './support/processes';
import { countCodeLookups } from './support/reads';

/**
 * Guessing authorization codes past the guard (src/http/rate-limit.ts, docs/reliability.md): in
 * parallel, from many addresses, from one IPv6 prefix, through several server processes. A lookup
 * is a statement the server's database client issues for a code (test/support/reads.ts); across
 * processes, an answer that tells the result (404).
 */

const GUESSER = '127.0.0.2';

const guessFrom = (from: string, base: string, headers: Record<string, string> = {}) =>
  postFrom(from, base, '/v1/activations', { code: generateAuthorizationCode(), fingerprint: machine('guesser') }, headers);

forEachEngine('attack: guessing codes', (engine) => {
  let server: TestServer;
  const product = `guessing-${engine}`;
  before(async () => {
    // The documented per-address defaults; a server-wide budget small enough to reach.
    server = await startTestServer(engine, {
      LICENSOR_GUESSES_PER_MINUTE: '10',
      LICENSOR_GUESS_BURST: '20',
      LICENSOR_GLOBAL_GUESSES_PER_MINUTE: '10',
      LICENSOR_GLOBAL_GUESS_BURST: '50',
      LICENSOR_TRUST_PROXY: 'loopback',
    });
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
  });
  after(async () => server?.close());
  // Each attack starts with every budget full again.
  afterEach(() => server.clock.advance(DAY));

  /** Runs the attack, counting the code lookups it caused. */
  async function lookupsOf<T>(attack: () => Promise<T>): Promise<{ lookups: number; result: T }> {
    const counter = countCodeLookups(server.running.runtime.database.knex);
    try {
      return { result: await attack(), lookups: counter.count() };
    } finally {
      counter.stop();
    }
  }

  it('lets 300 parallel guesses from one address make 20 lookups, the burst', async () => {
    const { lookups, result: answers } = await lookupsOf(() => Promise.all(Array.from({ length: 300 }, () => guessFrom(GUESSER, server.url))));
    assert.equal(lookups, 20);
    assert.equal(answers.filter((a) => a.status === 404).length, 20);
    assert.equal(answers.filter((a) => a.status === 429).length, 280);
  });

  it('counts an IPv6 address by its /64: another address of the prefix shares its budget, another prefix does not', async () => {
    // Behind a trusted proxy (LICENSOR_TRUST_PROXY=loopback) the address is the one it forwards.
    const from = (address: string) => guessFrom('127.0.0.1', server.url, { 'x-forwarded-for': address });
    for (let i = 0; i < 20; i++) assert.equal((await from('2001:db8:1:2::a')).status, 404);
    const neighbour = await from('2001:db8:1:2:ffff:ffff:ffff:b');
    assert.equal(neighbour.status, 429);
    assert.equal(neighbour.body.error.details.scope, 'address');
    assert.equal((await from('2001:0db8:0001:0002::c')).status, 429, 'another spelling of the prefix');
    assert.equal((await from('2001:db8:1:3::a')).status, 404);
  });

  it('holds 200 addresses together to the server-wide budget: 400 guesses make 50 lookups', async () => {
    const addresses = Array.from({ length: 200 }, (_, i) => `127.0.${3 + Math.floor(i / 250)}.${(i % 250) + 1}`);
    const { lookups, result: answers } = await lookupsOf(async () => {
      const all = [];
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < addresses.length; i += 50) all.push(...(await Promise.all(addresses.slice(i, i + 50).map((a) => guessFrom(a, server.url)))));
      }
      return all;
    });
    assert.equal(lookups, 50);
    const refused = answers.filter((a) => a.status === 429);
    assert.equal(refused.length, 350);
    assert.ok(refused.every((a) => a.body.error.details.scope === 'server'));
    // The price of a server-wide budget, as documented: while it is spent, a customer's right code waits too.
    const code = await issueCode(server, product);
    const customer = () => postFrom('127.0.9.9', server.url, '/v1/activations', { code, fingerprint: machine('customer') });
    assert.equal((await customer()).status, 429);
    server.clock.advance(DAY);
    assert.equal((await customer()).status, 201);
  });
});

describe('attack: guessing through two server processes on PostgreSQL', function () {
  let db: TestDatabase;
  let servers: ServerProcess[] = [];

  before(async function () {
    await skipWithoutPostgres(this);
    db = await createTestDatabase('postgres');
    const env = serverEnv(db, { LICENSOR_GUESS_BURST: '20', LICENSOR_GUESSES_PER_MINUTE: '1' });
    servers = await Promise.all([spawnServer(env), spawnServer(env)]);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await db?.drop();
  });

  it('meets one budget: 30 guesses at each make 20 lookups between them', async () => {
    const started = Date.now();
    const answers = await Promise.all(servers.flatMap((s) => Array.from({ length: 30 }, () => guessFrom(GUESSER, s.url))));
    // One attempt a minute refills while the guesses run (real processes, real clocks).
    const allowance = 20 + Math.floor((Date.now() - started) / 60_000);
    const found = answers.filter((a) => a.status === 404).length;
    assert.ok(found >= 20 && found <= allowance, `${found} lookups; ${allowance} allowed`);
    assert.equal(answers.filter((a) => a.status === 429).length, 60 - found);
    const side = openSideConnection(db);
    try {
      assert.ok((await side('guess_budgets').where('key', `a:${GUESSER}`).first()) !== undefined, 'the address budget is not in the shared table');
    } finally {
      await side.destroy();
    }
  });
});
