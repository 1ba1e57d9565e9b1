import { strict as assert } from 'node:assert';
import { sweep } from '../src/domain/sweeper';
import { MINUTE } from './support/clock';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call, type Answer } from './support/http';
import { claimsOf } from './support/license-clients';

const LEASE = 600;

forEachEngine('"N machines, M at a time"', (engine) => {
  let server: TestServer;
  const product = `studio-${engine}`;

  before(async () => {
    server = await startTestServer(engine);
    // A short lease: an in-use slot is the lease, and lapses 10 minutes after the last beat.
    assert.equal((await admin(server.url, 'POST', '/v1/admin/products', { name: product, leaseSeconds: LEASE })).status, 201);
  });
  after(async () => server?.close());

  async function issue(seats: number, concurrent?: number): Promise<string> {
    const res = await admin(server.url, 'POST', '/v1/admin/codes', { product, seats, days: 30, ...(concurrent === undefined ? {} : { concurrent }) });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.code.concurrent, concurrent ?? null);
    return res.body.code.code;
  }
  const activate = (code: string, name: string) => call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine(name) });
  const beat = (activation: Answer, name: string) =>
    call(server.url, 'POST', '/v1/heartbeat', {
      activationId: activation.body.activation.id,
      secret: activation.body.activation.secret,
      fingerprint: machine(name),
    });
  const exp = (token: string) => claimsOf(token).exp * 1000;

  it('lets a second machine in only when the first one is no longer in use', async () => {
    const code = await issue(3, 1);
    const desk = await activate(code, 'desk');
    assert.equal(desk.status, 201);
    const laptop = await activate(code, 'laptop');
    assert.equal(laptop.status, 409);
    assert.equal(laptop.body.error.code, 'concurrency_limit_reached');
    assert.equal(laptop.body.error.details.concurrent, 1);
    assert.equal(laptop.body.error.details.freesAt, new Date(exp(desk.body.token)).toISOString(), 'the slot frees exactly when the desk token expires');
    server.clock.advance(LEASE * 1000);
    assert.equal((await activate(code, 'laptop')).status, 201, 'the desk stopped beating: its slot lapsed with its token');
  });

  it('keeps a slot for as long as its machine beats, and ends the slot exactly at the token expiry', async () => {
    const code = await issue(2, 1);
    const desk = await activate(code, 'beating-desk');
    for (let i = 0; i < 5; i++) {
      server.clock.advance(3 * MINUTE);
      const answer = await beat(desk, 'beating-desk');
      assert.equal(answer.status, 200, answer.text);
      const shown = await admin(server.url, 'GET', `/v1/admin/activations/${desk.body.activation.id}`);
      assert.equal(shown.body.activation.inUseUntil, new Date(exp(answer.body.token)).toISOString());
    }
    assert.equal((await activate(code, 'waiting-laptop')).status, 409);
  });

  it('refuses the beat of a registered machine while the other machines hold every slot; it keeps its registration', async () => {
    const code = await issue(2, 1);
    const desk = await activate(code, 'reg-desk');
    server.clock.advance(LEASE * 1000);
    const laptop = await activate(code, 'reg-laptop');
    assert.equal(laptop.status, 201);
    const refused = await beat(desk, 'reg-desk');
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'concurrency_limit_reached');
    const shown = await admin(server.url, 'GET', `/v1/admin/activations/${desk.body.activation.id}`);
    assert.equal(shown.body.activation.status, 'active', 'still one of the N registered machines');
    server.clock.advance(LEASE * 1000);
    assert.equal((await beat(desk, 'reg-desk')).status, 200, 'once the laptop is idle the desk gets the slot back');
  });

  it('gives a sleeping machine its slot back on waking when nobody else took it (no reclaim, no re-activation)', async () => {
    const code = await issue(2, 1);
    const laptop = await activate(code, 'weekend-laptop');
    server.clock.advance(3 * 24 * 60 * MINUTE);
    const monday = await beat(laptop, 'weekend-laptop');
    assert.equal(monday.status, 200);
    assert.equal(monday.body.status, 'alive');
  });

  it('leaves codes without `concurrent` as before: every registered machine may be in use', async () => {
    const code = await issue(3);
    for (const name of ['plain-a', 'plain-b', 'plain-c']) assert.equal((await activate(code, name)).status, 201);
    assert.equal((await activate(code, 'plain-d')).body.error.code, 'seat_limit_reached');
  });

  it('refuses concurrent > seats', async () => {
    const res = await admin(server.url, 'POST', '/v1/admin/codes', { product, seats: 2, days: 30, concurrent: 3 });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'concurrent_exceeds_seats');
  });

  it('grants exactly 3 of 20 racing activations on a code of 10 machines, 3 at a time', async () => {
    const code = await issue(10, 3);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => activate(code, `race-${engine}-${i}`)));
    const statuses = answers.map((a) => a.status);
    assert.equal(statuses.filter((s) => s === 201).length, 3, statuses.join(','));
    assert.ok(answers.filter((a) => a.status === 409).every((a) => a.body.error.code === 'concurrency_limit_reached'));
  });

  it('renews exactly 2 of 6 racing heartbeats of registered machines whose slots have all lapsed', async () => {
    const code = await issue(6, 2);
    const registered: Array<[Answer, string]> = [];
    for (let round = 0; round < 3; round++) {
      for (const i of [0, 1]) {
        const name = `beat-race-${engine}-${round}-${i}`;
        const answer = await activate(code, name);
        assert.equal(answer.status, 201, answer.text);
        registered.push([answer, name]);
      }
      server.clock.advance(LEASE * 1000);
    }
    const beats = await Promise.all(registered.map(([answer, name]) => beat(answer, name)));
    const statuses = beats.map((b) => b.status);
    assert.equal(statuses.filter((s) => s === 200).length, 2, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 409).length, 4, statuses.join(','));
  });

  it('shares the slots between racing beats and racing activations exactly', async () => {
    const code = await issue(8, 2);
    const first = await activate(code, `mixed-${engine}-0`);
    server.clock.advance(LEASE * 1000);
    const answers = await Promise.all([beat(first, `mixed-${engine}-0`), ...Array.from({ length: 8 }, (_, i) => activate(code, `mixed-${engine}-new-${i}`))]);
    assert.equal(answers.filter((a) => a.status === 200 || a.status === 201).length, 2, answers.map((a) => a.status).join(','));
  });
});

forEachEngine('soft reclaim of floating seats', (engine) => {
  let server: TestServer;
  const soft = `soft-${engine}`;
  const eager = `eager-${engine}`;

  before(async () => {
    server = await startTestServer(engine);
    assert.equal(
      (await admin(server.url, 'POST', '/v1/admin/products', { name: soft, seatMode: 'floating', leaseSeconds: LEASE, reclaim: 'soft' })).status,
      201,
    );
    assert.equal((await admin(server.url, 'POST', '/v1/admin/products', { name: eager, seatMode: 'floating', leaseSeconds: LEASE })).status, 201);
  });
  after(async () => server?.close());

  const issue = async (product: string, seats: number) =>
    (await admin(server.url, 'POST', '/v1/admin/codes', { product, seats, days: 30 })).body.code.code as string;
  const activate = (code: string, name: string) => call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine(name) });
  const beat = (activation: Answer, name: string) =>
    call(server.url, 'POST', '/v1/heartbeat', {
      activationId: activation.body.activation.id,
      secret: activation.body.activation.secret,
      fingerprint: machine(name),
    });
  const statusOf = async (activation: Answer) =>
    (await admin(server.url, 'GET', `/v1/admin/activations/${activation.body.activation.id}`)).body.activation.status;
  const runSweeper = () => sweep(server.running.runtime.ctx, { releaseExpiredAfterMs: null });

  it('keeps a lapsed seat through the sweeper when nobody else wants it; the sleeper wakes and beats on', async () => {
    const code = await issue(soft, 1);
    const laptop = await activate(code, `sleeper-${engine}`);
    server.clock.advance(60 * LEASE * 1000);
    await runSweeper();
    assert.equal(await statusOf(laptop), 'active');
    const wake = await beat(laptop, `sleeper-${engine}`);
    assert.equal(wake.status, 200, wake.text);
    assert.equal(wake.body.status, 'alive');
  });

  it('while eager reclaim (the default) lets the sweeper cull it', async () => {
    const code = await issue(eager, 1);
    const laptop = await activate(code, `eager-sleeper-${engine}`);
    server.clock.advance(2 * LEASE * 1000);
    await runSweeper();
    assert.equal(await statusOf(laptop), 'culled');
  });

  it('takes a lapsed seat back when another machine needs it, only the one needed, the longest silent first', async () => {
    const code = await issue(soft, 2);
    const older = await activate(code, `older-${engine}`);
    server.clock.advance(MINUTE);
    const newer = await activate(code, `newer-${engine}`);
    server.clock.advance(2 * LEASE * 1000);
    const arriving = await activate(code, `arriving-${engine}`);
    assert.equal(arriving.status, 201, arriving.text);
    assert.equal(await statusOf(older), 'culled');
    assert.equal(await statusOf(newer), 'active', 'one seat was needed, one was taken');
    const late = await beat(older, `older-${engine}`);
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'activation_ended');
  });

  it('gives a lapsed seat to exactly one of 10 racing newcomers', async () => {
    const code = await issue(soft, 1);
    const sleeper = await activate(code, `race-sleeper-${engine}`);
    server.clock.advance(2 * LEASE * 1000);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => activate(code, `newcomer-${engine}-${i}`)));
    assert.equal(answers.filter((a) => a.status === 201).length, 1, answers.map((a) => a.status).join(','));
    assert.equal(await statusOf(sleeper), 'culled');
  });

  it('lets exactly one of a waking sleeper and a racing newcomer hold the seat', async () => {
    const code = await issue(soft, 1);
    const sleeper = await activate(code, `duel-sleeper-${engine}`);
    server.clock.advance(2 * LEASE * 1000);
    const [woke, arrived] = await Promise.all([beat(sleeper, `duel-sleeper-${engine}`), activate(code, `duel-newcomer-${engine}`)]);
    const winners = [woke.status === 200, arrived.status === 201].filter(Boolean).length;
    assert.equal(winners, 1, `beat ${woke.status}, activation ${arrived.status}`);
    const items = (await admin(server.url, 'GET', `/v1/admin/codes/${code}/activations`)).body.items;
    assert.equal(items.filter((a: { status: string }) => a.status === 'active').length, 1);
  });
});
