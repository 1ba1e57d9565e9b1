import { strict as assert } from 'node:assert';
import { generateAuthorizationCode } from '../src/domain/authorization-code';
import { SECOND } from './support/clock';
import { machine } from './support/factories';
import { forEachEngine } from './support/databases';
import { startTestServer, type TestServer } from './support/harness';
import { admin } from './support/http';
import { postFrom } from './support/loopback';

const GUESSER = '127.0.0.2';
const CUSTOMER = '127.0.0.3';

// On PostgreSQL the budgets are a table shared by server processes (src/storage/guess-budget-store.ts).
forEachEngine('guessing authorization codes', (engine) => {
  let server: TestServer;

  before(async () => {
    // The documented defaults: 10 failed lookups per address per minute, 20 at once; 120 attempts per code.
    server = await startTestServer(engine, {
      LICENSOR_GUESSES_PER_MINUTE: '10',
      LICENSOR_GUESS_BURST: '20',
      LICENSOR_CODE_ATTEMPTS_PER_MINUTE: '120',
      LICENSOR_CODE_ATTEMPT_BURST: '120',
      LICENSOR_OPENAPI_ALLOW_UNSIGNED: 'true',
    });
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'guarded' });
  });
  after(async () => server?.close());

  const guess = () => postFrom(GUESSER, server.url, '/v1/activations', { code: generateAuthorizationCode(), fingerprint: machine('guesser') });

  it('slows a guesser to the documented rate with 429 and Retry-After, while a customer keeps working', async () => {
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await guess());
    const statuses = answers.map((a) => a.status);
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(404));
    assert.deepEqual(statuses.slice(20), Array(10).fill(429));
    const refused = answers[29]!;
    assert.equal(refused.body.error.code, 'too_many_attempts');
    assert.equal(refused.body.error.details.scope, 'address');
    assert.ok(Number(refused.headers['retry-after']) >= 1);

    const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product: 'guarded', seats: 1, days: 30 });
    const customer = await postFrom(CUSTOMER, server.url, '/v1/activations', { code: issued.body.code.code, fingerprint: machine('customer') });
    assert.equal(customer.status, 201);

    // After a minute the guesser has earned exactly ten more guesses.
    server.clock.advance(60 * SECOND);
    const later = [];
    for (let i = 0; i < 12; i++) later.push((await guess()).status);
    assert.deepEqual(later, [...Array(10).fill(404), 429, 429]);
  });

  it('guards the marketplace-compatible open API with the same budget, answering as the marketplace gateway does', async () => {
    const address = '127.0.0.5';
    const path = '/api/mkp-openapi-public/global/v1/license/activate';
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 22; i++) {
      last = await postFrom(address, server.url, path, { license: generateAuthorizationCode() });
      statuses.push(last.status);
    }
    assert.equal(statuses.filter((s) => s === 429).length, 2);
    assert.equal(last!.body.error_code, 'APIG.0308');
    assert.ok(Number(last!.headers['retry-after']) >= 1);
    // The same address is now refused on our own activation route too: one budget per address.
    assert.equal((await postFrom(address, server.url, '/v1/activations', { code: generateAuthorizationCode(), fingerprint: machine('x') })).status, 429);
  });

  it('does not charge an address for its successful activations', async () => {
    const address = '127.0.0.4';
    for (let i = 0; i < 25; i++) {
      const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product: 'guarded', seats: 1, days: 30 });
      const res = await postFrom(address, server.url, '/v1/activations', { code: issued.body.code.code, fingerprint: machine(`fleet-${i}`) });
      assert.equal(res.status, 201);
    }
  });

  it('limits attempts on one code from many addresses', async () => {
    const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product: 'guarded', seats: 1, days: 30 });
    const code = issued.body.code.code;
    const statuses: number[] = [];
    for (let i = 0; i < 125; i++) {
      const res = await postFrom(`127.0.1.${(i % 200) + 1}`, server.url, '/v1/activations', { code, fingerprint: machine(`hopper-${i}`) });
      statuses.push(res.status);
    }
    assert.equal(statuses.filter((s) => s === 429).length, 5);
    assert.equal(statuses.filter((s) => s === 201).length, 1);
  });

  it('counts every spelling that finds the same code against that one code', async () => {
    // A code with a 0 in it, so that one spelling reads it as the letter O.
    let code = '';
    for (let tries = 0; tries < 50 && !code.includes('0'); tries++) {
      code = (await admin(server.url, 'POST', '/v1/admin/codes', { product: 'guarded', seats: 1, days: 30 })).body.code.code;
    }
    assert.ok(code.includes('0'), 'no issued code had a 0 in 50 tries');
    // Lookups drop separators, ignore case and read O, I and L as 0 and 1: so must the budget.
    const spellings = [code, code.replace(/-/g, '').toLowerCase(), code.replace(/0/g, 'O').replace(/1/g, 'l')];
    const statuses: number[] = [];
    for (let i = 0; i < 125; i++) {
      const res = await postFrom(`127.0.2.${(i % 200) + 1}`, server.url, '/v1/activations', { code: spellings[i % 3], fingerprint: machine(`speller-${i}`) });
      statuses.push(res.status);
    }
    assert.equal(statuses.filter((s) => s === 429).length, 5);
    assert.equal(statuses.filter((s) => s === 201).length, 1);
  });
});
