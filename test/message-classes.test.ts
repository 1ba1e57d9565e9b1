import { strict as assert } from 'node:assert';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import express, { type Express } from 'express';
import { expressMessageClasses } from '../src/http/heartbeat/message-classes';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';
import { issueCode } from './support/license-clients';

/** V8's own answer (a natives-syntax intrinsic, allowed for this process from here on): is `o` a fast-mode object? */
const hasFastProperties = (() => {
  setFlagsFromString('--allow-natives-syntax');
  return new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;
})();

/** A small app that uses what Express adds to requests and responses: body parsing, req.is, res.status/json, errors. */
function sampleApp(): Express {
  const app = express();
  app.disable('x-powered-by');
  app.post('/echo', express.json(), (req, res) => {
    res.status(req.is('application/json') ? 201 : 400).json({ body: req.body, path: req.path, query: req.query });
  });
  app.get('/fails', () => {
    throw new Error('boom');
  });
  app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    void _next;
    res.status(500).json({ error: 'handled' });
  });
  return app;
}

async function listening(app: Express, withClasses: boolean, born: (req: IncomingMessage, res: ServerResponse) => void = () => undefined) {
  const server: Server = createServer(withClasses ? expressMessageClasses(app) : {}, (req, res) => {
    born(req, res);
    app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('requests and responses made as Express ones from birth', () => {
  it('are built with the app’s own request and response as their prototypes', async () => {
    const app = sampleApp();
    const seen: boolean[] = [];
    const { server, url } = await listening(app, true, (req, res) =>
      seen.push(Object.getPrototypeOf(req) === app.request, Object.getPrototypeOf(res) === app.response),
    );
    try {
      assert.equal((await call(url, 'POST', '/echo', { a: 1 })).status, 201);
      assert.deepEqual(seen, [true, true]);
    } finally {
      server.close();
    }
  });

  it('answer every request exactly as node’s own classes do', async () => {
    const requests: Array<[string, string, unknown, Record<string, string>]> = [
      ['POST', '/echo?x=1', { a: [1, 2], b: 'ü' }, {}],
      ['POST', '/echo', '{"a":', {}],
      ['POST', '/echo', 'plain', { 'content-type': 'text/plain' }],
      ['GET', '/fails', undefined, {}],
      ['GET', '/nowhere', undefined, {}],
    ];
    const answersOf = async (withClasses: boolean) => {
      const { server, url } = await listening(sampleApp(), withClasses);
      try {
        const answers = [];
        for (const [method, path, body, headers] of requests) {
          const a = await call(url, method, path, body, headers);
          answers.push({ status: a.status, text: a.text, contentType: a.headers.get('content-type'), length: a.headers.get('content-length') });
        }
        return answers;
      } finally {
        server.close();
      }
    };
    const plain = await answersOf(false);
    assert.deepEqual(await answersOf(true), plain);
    assert.deepEqual(
      plain.map((a) => a.status),
      [201, 500, 400, 500, 404],
    );
  });

  it('keep the shape node’s own have: their properties as quick to reach, not looked up in a dictionary', async () => {
    const shapesOf = async (withClasses: boolean) => {
      const shapes: boolean[][] = [];
      const { server, url } = await listening(sampleApp(), withClasses, (req, res) => shapes.push([hasFastProperties(req), hasFastProperties(res)]));
      try {
        for (let i = 0; i < 3; i++) assert.equal((await call(url, 'POST', '/echo', { a: i })).status, 201);
      } finally {
        server.close();
      }
      return shapes;
    };
    const plain = await shapesOf(false);
    assert.deepEqual(plain, [
      [true, true],
      [true, true],
      [true, true],
    ]);
    assert.deepEqual(await shapesOf(true), plain);
  });
});

forEachEngine('the licensor server’s requests and responses', (engine) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(engine);
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'born' });
  });
  after(async () => server?.close());

  it('reach every route already as the app’s Express requests and responses', async () => {
    const { app, server: http } = server.running;
    const seen: string[] = [];
    const probe = (req: IncomingMessage, res: ServerResponse) =>
      seen.push(`${req.url} ${Object.getPrototypeOf(req) === app.request} ${Object.getPrototypeOf(res) === app.response}`);
    http.prependListener('request', probe);
    try {
      const code = await issueCode(server, 'born');
      const activated = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('born-1') });
      assert.equal(activated.status, 201, activated.text);
      const beat = await call(server.url, 'POST', '/v1/heartbeat', {
        activationId: activated.body.activation.id,
        secret: activated.body.activation.secret,
        fingerprint: machine('born-1'),
      });
      assert.equal(beat.status, 200, beat.text);
    } finally {
      http.off('request', probe);
    }
    assert.deepEqual(
      seen.filter((s) => !s.startsWith('/v1/admin')),
      ['/v1/activations true true', '/v1/heartbeat true true'],
    );
    assert.ok(
      seen.every((s) => s.endsWith('true true')),
      seen.join('\n'),
    );
  });
});
