import { strict as assert } from 'node:assert';
import http from 'node:http';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';

interface Reply {
  status: number;
  code: string | null;
  text: string;
}

/** One raw POST: with Content-Length (a plain body, read by licensor itself) or chunked (read by body-parser). */
function post(server: TestServer, path: string, body: Buffer, framing: 'length' | 'chunked', type = 'application/json'): Promise<Reply> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': type };
    if (framing === 'length') headers['content-length'] = String(body.length);
    const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let code: string | null = null;
        try {
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? null;
        } catch {
          code = null;
        }
        resolve({ status: res.statusCode!, code, text });
      });
    });
    req.on('error', reject);
    if (framing === 'chunked') {
      // Two chunks, so the body really arrives chunked.
      req.write(body.subarray(0, 1));
      req.end(body.subarray(1));
    } else {
      req.end(body);
    }
  });
}

describe('JSON request bodies', () => {
  let server: TestServer;
  let beat: Record<string, unknown>;

  before(async () => {
    server = await startTestServer('sqlite');
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'bodies' });
    const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product: 'bodies', seats: 1, days: 30 });
    const activated = await call(server.url, 'POST', '/v1/activations', { code: issued.body.code.code, fingerprint: machine('bodies') });
    assert.equal(activated.status, 201);
    beat = { activationId: activated.body.activation.id, secret: activated.body.activation.secret, fingerprint: machine('bodies') };
  });
  after(async () => server?.close());

  it('reads a plain body (Content-Length, application/json) exactly as body-parser reads a chunked one', async () => {
    const json = JSON.stringify(beat);
    const bodies: Array<[string, Buffer]> = [
      ['a valid heartbeat', Buffer.from(json)],
      ['a valid heartbeat behind a UTF-8 byte-order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)])],
      ['a valid heartbeat in whitespace', Buffer.from(`\r\n\t ${json} \n`)],
      ['invalid JSON', Buffer.from('{"activationId": ')],
      ['a bare number', Buffer.from('42')],
      ['null', Buffer.from('null')],
      ['a bare string after whitespace', Buffer.from('  "x"')],
      ['whitespace only', Buffer.from('   ')],
      ['an array', Buffer.from('[1,2]')],
      ['an empty object', Buffer.from('{}')],
      ['invalid UTF-8 in a key', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
      ['a body of 10,000 nested arrays', Buffer.from('{"a":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}')],
    ];
    for (const [what, body] of bodies) {
      const plain = await post(server, '/v1/heartbeat', body, 'length');
      const chunked = await post(server, '/v1/heartbeat', body, 'chunked');
      assert.deepEqual([plain.status, plain.code], [chunked.status, chunked.code], `${what}: ${plain.text.slice(0, 200)} / ${chunked.text.slice(0, 200)}`);
      assert.ok(plain.status < 500, `${what}: ${plain.status}`);
    }
    // The cases above are not all refusals: the first three were answered as heartbeats.
    assert.equal((await post(server, '/v1/heartbeat', Buffer.from(json), 'length')).status, 200);
  });

  it('reads a charset=utf-8 body itself too, and leaves any other charset to body-parser (415)', async () => {
    const json = Buffer.from(JSON.stringify(beat));
    assert.equal((await post(server, '/v1/heartbeat', json, 'length', 'application/json; charset="UTF-8"')).status, 200);
    const latin = await post(server, '/v1/heartbeat', json, 'length', 'application/json; charset=latin1');
    assert.deepEqual([latin.status, latin.code], [415, 'unsupported_charset']);
  });

  it('survives a body cut short by the client closing the connection, and answers the next request', async () => {
    const url = new URL(server.url);
    await new Promise<void>((resolve, reject) => {
      const req = http.request({
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/v1/heartbeat',
        headers: { 'content-type': 'application/json', 'content-length': '1000' },
      });
      req.on('error', () => resolve());
      req.write('{"activationId":');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
      req.on('response', () => reject(new Error('answered a body that never arrived')));
    });
    const next = await call(server.url, 'POST', '/v1/heartbeat', beat);
    assert.equal(next.status, 200);
  });
});
