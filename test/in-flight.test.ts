import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { RequestsInFlight } from '../src/http/in-flight';

describe('the count of requests in flight', () => {
  const inFlight = new RequestsInFlight();
  const seen: number[] = [];
  let release: () => void = () => {};
  let server: http.Server;
  let base: string;

  before(async () => {
    const app = express();
    app.use((_req, res, next) => {
      inFlight.track(res);
      next();
    });
    app.get('/now', (_req, res) => {
      seen.push(inFlight.current);
      res.json({ inFlight: inFlight.current });
    });
    // Holds its answer until released, so another request can overlap it.
    app.get('/held', (_req, res) => {
      release = () => res.json({ released: true });
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((done) => server.close(() => done())));

  async function settled(): Promise<void> {
    for (let i = 0; i < 100 && inFlight.current !== 0; i++) await new Promise((r) => setTimeout(r, 10));
  }

  it('is one while a lone request is answered, and none after', async () => {
    assert.deepEqual(await (await fetch(`${base}/now`)).json(), { inFlight: 1 });
    await settled();
    assert.equal(inFlight.current, 0);
  });

  it('counts a request that overlaps another', async () => {
    const held = fetch(`${base}/held`);
    for (let i = 0; i < 100 && inFlight.current !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(await (await fetch(`${base}/now`)).json(), { inFlight: 2 });
    release();
    await (await held).json();
    await settled();
    assert.equal(inFlight.current, 0);
  });

  it('stops counting a request whose client went away before the answer', async () => {
    const aborted = new AbortController();
    const held = fetch(`${base}/held`, { signal: aborted.signal }).catch(() => 'aborted');
    for (let i = 0; i < 100 && inFlight.current !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(inFlight.current, 1);
    aborted.abort();
    assert.equal(await held, 'aborted');
    await settled();
    assert.equal(inFlight.current, 0, 'the abandoned request is no longer in flight');
  });
});
