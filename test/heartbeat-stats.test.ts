import { strict as assert } from 'node:assert';
import type { BeatCount } from '../src/domain/ports';
import { CoalescingHeartbeatWriter } from '../src/storage/heartbeat/heartbeat-writer';
import { DAY, HOUR, MINUTE, SECOND } from './support/clock';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';
import { assertRefusal } from './support/refusals';

forEachEngine('heartbeat statistics', (engine) => {
  let server: TestServer;
  let midnight: number;
  const product = `stats-${engine}`;
  const other = `stats-other-${engine}`;
  const quiet = `stats-quiet-${engine}`;

  before(async () => {
    // Flushes happen when the test says so (or the sweeper runs), never behind its back.
    server = await startTestServer(engine, { LICENSOR_HEARTBEAT_FLUSH_MS: '60000' });
    // A day boundary ahead of the real clock, so minutes and buckets line up the same on every run.
    midnight = Math.ceil(Date.now() / DAY) * DAY + DAY;
    server.clock.t = midnight;
    for (const name of [product, other, quiet]) await admin(server.url, 'POST', '/v1/admin/products', { name });
  });
  after(async () => server?.close());

  const secrets = new Map<string, string>();
  async function activated(name: string, productName: string) {
    const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product: productName, seats: 1, days: 30 });
    const res = await call(server.url, 'POST', '/v1/activations', { code: issued.body.code.code, fingerprint: machine(name) });
    assert.equal(res.status, 201, res.text);
    secrets.set(res.body.activation.id, res.body.activation.secret);
    return { code: issued.body.code.code as string, activationId: res.body.activation.id as string };
  }
  const beat = async (activationId: string, name: string) =>
    assert.equal(
      (await call(server.url, 'POST', '/v1/heartbeat', { activationId, secret: secrets.get(activationId), fingerprint: machine(name) })).status,
      200,
    );
  const stats = (query: string) => admin(server.url, 'GET', `/v1/admin/stats/heartbeats?${query}`);
  const iso = (t: number) => new Date(t).toISOString();
  const flush = () => server.running.runtime.heartbeats.flush();

  describe('counting heartbeats', () => {
    let a1: string;
    let a2: string;
    let b1: string;

    before(async () => {
      a1 = (await activated('a1', product)).activationId;
      a2 = (await activated('a2', product)).activationId;
      b1 = (await activated('b1', other)).activationId;
    });

    it('writes nothing per beat: the counts wait in memory for the coalesced flush', async () => {
      server.clock.t = midnight + 10 * MINUTE + 5 * SECOND;
      await beat(a1, 'a1');
      await beat(a2, 'a2');
      const before = await stats(`product=${product}&from=${iso(midnight)}&to=${iso(midnight + HOUR)}&points=60`);
      assert.equal(before.status, 200, before.text);
      assert.equal(before.body.points[10].beats, 0);
      await flush();
      const after = await stats(`product=${product}&from=${iso(midnight)}&to=${iso(midnight + HOUR)}&points=60`);
      assert.equal(after.body.points[10].beats, 2);
    });

    it('counts each beat in its own product and minute, and all products together', async () => {
      server.clock.t = midnight + 11 * MINUTE;
      await beat(a1, 'a1');
      await beat(b1, 'b1');
      server.clock.t = midnight + 11 * MINUTE + 59 * SECOND;
      await beat(a1, 'a1');
      server.clock.t = midnight + 12 * MINUTE;
      await beat(b1, 'b1');
      await flush();
      const range = `from=${iso(midnight)}&to=${iso(midnight + HOUR)}&points=60`;
      const one = await stats(`product=${product}&${range}`);
      const two = await stats(`product=${other}&${range}`);
      const all = await stats(range);
      assert.deepEqual(
        one.body.points.slice(10, 13).map((p: { beats: number }) => p.beats),
        [2, 2, 0],
      );
      assert.deepEqual(
        two.body.points.slice(10, 13).map((p: { beats: number }) => p.beats),
        [0, 1, 1],
      );
      assert.deepEqual(
        all.body.points.slice(10, 13).map((p: { beats: number }) => p.beats),
        [2, 3, 1],
      );
    });

    it('adds counts flushed for the same minute instead of replacing them (several processes flush the same rows)', async () => {
      server.clock.t = midnight + 11 * MINUTE + 30 * SECOND;
      await beat(a2, 'a2');
      await flush();
      const res = await stats(`product=${product}&from=${iso(midnight)}&to=${iso(midnight + HOUR)}&points=60`);
      assert.equal(res.body.points[11].beats, 3);
    });
  });

  describe('sampling active seats', () => {
    it("stores every product's active seats for the minute when the sweeper runs, 0 for a product without any", async () => {
      server.clock.t = midnight + 20 * MINUTE + 10 * SECOND;
      await server.running.sweeper.runOnce();
      const range = `from=${iso(midnight)}&to=${iso(midnight + HOUR)}&points=60`;
      assert.equal((await stats(`product=${product}&${range}`)).body.points[20].activeSeats, 2);
      assert.equal((await stats(`product=${other}&${range}`)).body.points[20].activeSeats, 1);
      assert.equal((await stats(`product=${quiet}&${range}`)).body.points[20].activeSeats, 0);
      assert.equal((await stats(range)).body.points[20].activeSeats, 3);
    });

    it('replaces an earlier sample of the same minute, and leaves minutes without a sample empty', async () => {
      const { code } = await activated('a3', product);
      server.clock.t = midnight + 20 * MINUTE + 40 * SECOND;
      await server.running.sweeper.runOnce();
      await admin(server.url, 'POST', `/v1/admin/codes/${code}/release`);
      server.clock.t = midnight + 20 * MINUTE + 50 * SECOND;
      await server.running.sweeper.runOnce();
      const res = await stats(`product=${product}&from=${iso(midnight)}&to=${iso(midnight + HOUR)}&points=60`);
      assert.equal(res.body.points[20].activeSeats, 2);
      assert.equal(res.body.points[21].activeSeats, null);
    });
  });

  describe('the chart route', () => {
    it('sums beats into buckets no more than asked for, with seats at their highest sample', async () => {
      // Seats: 2 at minute 20 (above); 3 at minute 25.
      await activated('a4', product);
      server.clock.t = midnight + 25 * MINUTE;
      await server.running.sweeper.runOnce();
      const res = await stats(`product=${product}&from=${iso(midnight)}&to=${iso(midnight + HOUR)}&points=10`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.stepSeconds, 600);
      assert.equal(res.body.points.length, 6);
      assert.deepEqual(
        res.body.points.map((p: { at: string; beats: number; activeSeats: number | null }) => [p.at, p.beats, p.activeSeats]),
        [
          [iso(midnight), 0, null],
          [iso(midnight + 10 * MINUTE), 5, null],
          [iso(midnight + 20 * MINUTE), 0, 3],
          [iso(midnight + 30 * MINUTE), 0, null],
          [iso(midnight + 40 * MINUTE), 0, null],
          [iso(midnight + 50 * MINUTE), 0, null],
        ],
      );
    });

    it('aligns the first bucket to the step and names the product it was asked for', async () => {
      const res = await stats(`product=${product}&from=${iso(midnight + 7 * MINUTE)}&to=${iso(midnight + HOUR)}&points=10`);
      assert.equal(res.body.product, product);
      assert.equal(res.body.from, iso(midnight));
      assert.equal(res.body.points[1].beats, 5);
    });

    it("covers the last day up to the server's clock by default", async () => {
      server.clock.t = midnight + HOUR;
      const res = await stats('');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.product, null);
      assert.equal(res.body.to, iso(midnight + HOUR));
      assert.equal(res.body.stepSeconds, 15 * 60);
      assert.equal(res.body.points.length, 24 * 4);
      assert.equal(
        res.body.points.reduce((sum: number, p: { beats: number }) => sum + p.beats, 0),
        7,
      );
    });

    it('refuses a range that is empty, reversed or longer than the statistics are kept', async () => {
      assertRefusal(await stats(`from=${iso(midnight)}&to=${iso(midnight)}`), 400, 'invalid_request');
      assertRefusal(await stats(`from=${iso(midnight + HOUR)}&to=${iso(midnight)}`), 400, 'invalid_request');
      assertRefusal(await stats(`from=${iso(midnight - 91 * DAY)}&to=${iso(midnight)}`), 400, 'invalid_request');
    });

    it('refuses malformed parameters and point counts out of bounds', async () => {
      assertRefusal(await stats('from=yesterday'), 400, 'invalid_request');
      assertRefusal(await stats('points=5'), 400, 'invalid_request');
      assertRefusal(await stats('points=501'), 400, 'invalid_request');
      assertRefusal(await stats('product=%3Cscript%3E'), 400, 'invalid_request');
    });

    it('answers 404 for a product that does not exist', async () => {
      assertRefusal(await stats('product=no-such-product'), 404, 'product_not_found');
    });

    it('requires the admin token', async () => {
      assertRefusal(await call(server.url, 'GET', '/v1/admin/stats/heartbeats'), 401, 'admin_token_required');
      assertRefusal(
        await call(server.url, 'GET', '/v1/admin/stats/heartbeats', undefined, { authorization: 'Bearer wrong-token-0123456789' }),
        401,
        'admin_token_required',
      );
    });
  });

  describe('retention', () => {
    it('drops minutes older than 90 days when the sweeper runs', async () => {
      server.clock.t = midnight + 91 * DAY;
      await server.running.sweeper.runOnce();
      const left = await server.running.runtime.database
        .knex('heartbeat_stats')
        .where('minute', '<', midnight + 90 * DAY)
        .count({ n: '*' });
      assert.equal(Number(left[0]!.n), 0);
    });
  });
});

describe("the coalescing writer's beat counts", () => {
  const noLiveness = { touchMany: async () => {} };

  it('writes one row per product and minute per flush, however many beats', async () => {
    const written: BeatCount[][] = [];
    const writer = new CoalescingHeartbeatWriter(noLiveness, { addBeats: async (rows) => void written.push(rows) }, 60_000);
    for (let i = 0; i < 1000; i++) writer.countBeat('p1', 120_000 + i);
    writer.countBeat('p2', 120_500);
    writer.countBeat('p1', 180_000);
    await writer.close();
    assert.equal(written.length, 1);
    assert.deepEqual(
      [...written[0]!].sort((a, b) => a.minute - b.minute || a.productId.localeCompare(b.productId)),
      [
        { minute: 120_000, productId: 'p1', beats: 1000 },
        { minute: 120_000, productId: 'p2', beats: 1 },
        { minute: 180_000, productId: 'p1', beats: 1 },
      ],
    );
  });

  it('keeps the counts of a failed write and adds them to the next flush', async () => {
    let fail = true;
    const written: BeatCount[] = [];
    const writer = new CoalescingHeartbeatWriter(
      noLiveness,
      {
        addBeats: async (rows) => {
          if (fail) throw new Error('database away');
          written.push(...rows);
        },
      },
      60_000,
    );
    writer.countBeat('p1', 0);
    writer.countBeat('p1', 1);
    await assert.rejects(writer.flush(), /database away/);
    writer.countBeat('p1', 2);
    fail = false;
    await writer.close();
    assert.deepEqual(written, [{ minute: 0, productId: 'p1', beats: 3 }]);
  });
});
