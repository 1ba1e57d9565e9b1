import { strict as assert } from 'node:assert';
import net from 'node:net';
import { startTestServer, type TestServer } from './support/harness';
import { call } from './support/http';

describe('slow clients', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('sqlite', { LICENSOR_HEADERS_TIMEOUT_MS: '500', LICENSOR_REQUEST_TIMEOUT_MS: '1000' });
  });
  after(async () => server?.close());

  /** A connection that sends the start of a request and then one header byte now and then. */
  function dribble(): Promise<void> {
    return new Promise((resolve) => {
      const socket = net.connect(server.running.port, '127.0.0.1', () => {
        socket.write('POST /v1/heartbeat HTTP/1.1\r\nHost: x\r\n');
        const timer = setInterval(() => socket.write('X'), 100);
        socket.once('close', () => {
          clearInterval(timer);
          resolve();
        });
      });
      socket.on('error', () => undefined);
    });
  }

  it('cuts connections that never finish their headers, and keeps answering others meanwhile', async () => {
    const slow = Array.from({ length: 40 }, () => dribble());
    for (let i = 0; i < 5; i++) assert.equal((await call(server.url, 'GET', '/healthz')).status, 200);
    // Every slow connection is closed by the server (the suite's own timeout bounds the wait).
    await Promise.all(slow);
    assert.equal((await call(server.url, 'GET', '/healthz')).status, 200);
  });
});
