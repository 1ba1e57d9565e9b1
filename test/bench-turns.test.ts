import { strict as assert } from 'node:assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inTurns, load, merged, type LoadResult } from '../bench/support';

/** A server that answers each request after `delayMs` and notes when each arrived. */
async function startServer(delayMs: number): Promise<{ url: string; arrivals: number[]; close: () => Promise<void> }> {
  const arrivals: number[] = [];
  const server = http.createServer((req, res) => {
    arrivals.push(performance.now());
    req.resume();
    req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), delayMs));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/beat`,
    arrivals,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('loads measured in turns', () => {
  it('run each load in turns, the first of each round rotating, and merge its turns into one run', async function () {
    this.timeout(30_000);
    const fast = await startServer(0);
    const slow = await startServer(5);
    try {
      const body = () => ({ n: 1 });
      const turns = await inTurns({ fast: () => load(fast.url, 2, 1, body), slow: () => load(slow.url, 2, 1, body) }, 2);
      const results = { fast: merged(turns.fast), slow: merged(turns.slow) };
      assert.deepEqual([turns.fast.length, turns.slow.length], [2, 2]);

      // Two rounds of a second a turn: fast·slow, then slow·fast; each load's arrivals fall in its turns only.
      const order = [...fast.arrivals.map((t) => ({ t, who: 'fast' })), ...slow.arrivals.map((t) => ({ t, who: 'slow' }))].sort((a, b) => a.t - b.t);
      const whoseTurn = order.filter((a, i) => i === 0 || order[i - 1]!.who !== a.who).map((a) => a.who);
      assert.deepEqual(whoseTurn, ['fast', 'slow', 'fast']);

      // Every answer counted once, over the time of its turns.
      assert.ok(results.fast.answers > 0 && results.fast.answers <= fast.arrivals.length, `${results.fast.answers} of ${fast.arrivals.length}`);
      assert.ok(results.slow.answers > 0 && results.slow.answers <= slow.arrivals.length, `${results.slow.answers} of ${slow.arrivals.length}`);
      assert.equal(results.slow.latencies.length, results.slow.answers);
      assert.ok(results.slow.elapsedMs >= 1_500 && results.slow.elapsedMs <= 2_600, `${results.slow.elapsedMs} ms of turns`);
      assert.equal(results.slow.rps, results.slow.answers / (results.slow.elapsedMs / 1000));
      // Two connections answered after 5 ms each: 400 a second at most, and every latency at least the delay.
      assert.ok(results.slow.rps <= 420, `${results.slow.rps} a second`);
      assert.ok(results.slow.p50 >= 5 && results.fast.p50 < results.slow.p50, `p50 ${results.fast.p50} and ${results.slow.p50} ms`);
      assert.ok(results.fast.rps > results.slow.rps);
    } finally {
      await fast.close();
      await slow.close();
    }
  });

  it("weigh each turn's CPU per answer by its answers, and know none when a turn measured none", () => {
    const turn = (
      answers: number,
      elapsedMs: number,
      latencies: number[],
      mainUs: number | null,
    ): LoadResult & { cpu: { mainUs: number; allUs: number } | null } => ({
      rps: answers / (elapsedMs / 1000),
      answers,
      p50: 0,
      p99: 0,
      latencies,
      elapsedMs,
      non2xx: 1,
      errors: 0,
      refused: new Map([['503', 1]]),
      cpu: mainUs === null ? null : { mainUs, allUs: mainUs * 2 },
    });
    const both = merged([turn(100, 1_000, [3, 1], 100), turn(300, 1_000, [2, 4, 5], 200)]);
    assert.equal(both.answers, 400);
    assert.equal(both.rps, 200);
    assert.deepEqual(both.cpu, { mainUs: 175, allUs: 350 });
    assert.deepEqual(both.latencies, [1, 2, 3, 4, 5]);
    assert.equal(both.p50, 3);
    assert.equal(both.non2xx, 2);
    assert.deepEqual([...both.refused], [['503', 2]]);
    assert.equal(merged([turn(100, 1_000, [1], 100), turn(100, 1_000, [1], null)]).cpu, null);
  });
});
