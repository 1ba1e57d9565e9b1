import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { RequestsInFlight } from '../src/http/heartbeat/in-flight';

describe('the requests in flight and their connections', () => {
  const inFlight = new RequestsInFlight();
  let release: () => void = () => {};
  let server: http.Server;
  let port: number;
  const agents: http.Agent[] = [];

  before(async () => {
    const app = express();
    app.use((req, res, next) => {
      inFlight.track(req, res);
      next();
    });
    app.get('/now', (_req, res) => {
      res.json({ alone: inFlight.alone(), requests: inFlight.current, connections: inFlight.openConnections });
    });
    // Holds its answer until released, so another request can overlap it.
    app.get('/held', (_req, res) => {
      release = () => res.json({ released: true });
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterEach(() => agents.splice(0).forEach((a) => a.destroy()));
  after(() => new Promise<void>((done) => server.close(() => done())));

  /** A client of its own: a keep-alive connection that stays open between its requests. */
  function client(): http.Agent {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    return agent;
  }

  function get(agent: http.Agent, path: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent, signal }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(JSON.parse(text)));
      });
      req.on('error', reject);
    });
  }

  async function until(what: string, done: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(done(), what);
  }

  beforeEach(() => until('no connection left from an earlier case', () => inFlight.openConnections === 0 && inFlight.current === 0));

  it('is alone while one request on the only connection is answered, and counts nothing after', async () => {
    const only = client();
    assert.deepEqual(await get(only, '/now'), { alone: true, requests: 1, connections: 1 });
    assert.deepEqual(await get(only, '/now'), { alone: true, requests: 1, connections: 1 }, 'the same connection again');
    only.destroy();
    await until('the connection is no longer counted once closed', () => inFlight.openConnections === 0 && inFlight.current === 0);
  });

  it('is not alone while another request overlaps', async () => {
    const held = get(client(), '/held');
    await until('the held request is in flight', () => inFlight.current === 1);
    assert.deepEqual(await get(client(), '/now'), { alone: false, requests: 2, connections: 2 });
    release();
    await held;
  });

  it('is not alone while another client holds a connection open, even between its requests', async () => {
    const idle = client();
    await get(idle, '/now');
    const asking = client();
    assert.deepEqual(await get(asking, '/now'), { alone: false, requests: 1, connections: 2 });
    idle.destroy();
    await until('the idle connection is gone', () => inFlight.openConnections === 1);
    assert.deepEqual(await get(asking, '/now'), { alone: true, requests: 1, connections: 1 });
  });

  it('stops counting a request whose client went away before the answer, and its connection', async () => {
    const aborted = new AbortController();
    const held = get(client(), '/held', aborted.signal).catch(() => 'aborted');
    await until('the held request is in flight', () => inFlight.current === 1);
    aborted.abort();
    assert.equal(await held, 'aborted');
    await until('the abandoned request and its connection are no longer counted', () => inFlight.current === 0 && inFlight.openConnections === 0);
  });
});
