import { strict as assert } from 'node:assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { failuresNote, loadRequests } from '../bench/support';

describe('what a benchmark row says about failed requests', () => {
  let server: http.Server;
  let url = '';
  let served = 0;

  before(async () => {
    // Every third answer a refusal with a stable code, every fifth a bare 502 from "a proxy".
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        served++;
        if (served % 5 === 0) {
          res.writeHead(502).end('bad gateway');
        } else if (served % 3 === 0) {
          res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'database_busy', message: 'try again' } }));
        } else {
          res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('names each refusal by status and, where the load reads bodies, by its code', async () => {
    served = 0;
    const result = await loadRequests(url, { connections: 1, amount: 15, onResponse: () => undefined }, () => ({ body: { n: 1 } }));
    assert.equal(result.non2xx, 7);
    assert.deepEqual([...result.refused].sort(), [
      ['502 ?', 3],
      ['503 database_busy', 4],
    ]);
    assert.equal(failuresNote(result), '7 non-2xx/errors: 503 database_busy ×4, 502 ? ×3');
  });

  it('names refusals by status alone where the load does not read bodies, and says nothing when all succeeded', async () => {
    served = 0;
    const result = await loadRequests(url, { connections: 1, amount: 15 }, () => ({ body: { n: 1 } }));
    assert.deepEqual([...result.refused].sort(), [
      ['502', 3],
      ['503', 4],
    ]);
    assert.equal(failuresNote({ ...result, non2xx: 0, errors: 0, refused: new Map() }), '');
  });
});
