import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import { marketplaceHeartbeat } from '@licensor/client';
import { forEachEngine } from './support/databases';
import { altered, ForgingProxy, signAs, withJson, type Exchange } from './support/forging-proxy';
import { startTestServer, type TestServer } from './support/harness';
import { admin } from './support/http';
import { issueCode, publishedKeys } from './support/license-clients';

/**
 * marketplaceHeartbeat() against a licensor server whose keys it pins (docs/client.md): a fake
 * server or a man in the middle (a real proxy in front of the real server) answers in its place.
 */

forEachEngine('attack: a fake licensor answering marketplaceHeartbeat', (engine) => {
  let server: TestServer;
  let proxy: ForgingProxy;
  let publicKeys: { keys: Record<string, unknown>[] };
  const product = `mkp-heartbeat-${engine}`;
  before(async () => {
    server = await startTestServer(engine, { LICENSOR_OPENAPI_ALLOW_UNSIGNED: 'true' });
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
    publicKeys = await publishedKeys(server);
    proxy = await new ForgingProxy(server.url).start();
  });
  after(async () => {
    await proxy?.close();
    await server?.close();
  });
  afterEach(() => {
    proxy.forge = null;
  });

  const beat = (license: string, pinned = true) => marketplaceHeartbeat({ baseUrl: proxy.url, license, ...(pinned ? { publicKeys: [publicKeys] } : {}) });
  const alive = (request: Pick<Exchange, 'method' | 'path' | 'requestHeaders' | 'requestBody'>, license: string) =>
    withJson(request, 200, {
      error_code: '92020000',
      error_msg: 'Success',
      data: { license_code: license, status: 'ALIVE', activate_time: '', expire_time: '20991231000000' },
    });

  it("believes the real server's signed answers, ALIVE and RELEASED", async () => {
    const code = await issueCode(server, product);
    assert.deepEqual([(await beat(code)).valid, (await beat(code)).status], [true, 'ALIVE']);
    await admin(server.url, 'POST', `/v1/admin/codes/${code}/release`);
    const released = await beat(code);
    assert.deepEqual([released.valid, released.reason], [false, 'released']);
  });

  it("refuses a fake server's ALIVE, an altered answer, another request's answer and a re-signed one as untrusted_answer", async () => {
    const code = await issueCode(server, product);
    await admin(server.url, 'POST', `/v1/admin/codes/${code}/release`);
    const other = await issueCode(server, product);
    const realKid = String(publicKeys.keys[0]!.kid);
    const attempts: Array<[string, ProxyForge]> = [
      ['a fake ALIVE', (request) => alive(request, code)],
      ['RELEASED rewritten to ALIVE', altered((genuine) => ({ ...genuine, body: Buffer.from(genuine.body.toString().replace('RELEASED', 'ALIVE')) }))],
      // The server's genuine signed ALIVE, with this request's nonce, for a request about another code.
      ["another request's signed ALIVE", (request, upstream) => upstream({ ...request, requestBody: Buffer.from(JSON.stringify({ license: other })) })],
      // A fake server's own key, claiming the real key's kid.
      ['ALIVE signed with another key under the real kid', (request) => signAs(alive(request, code), generateKeyPairSync('ed25519').privateKey, realKid)],
    ];
    for (const [what, forge] of attempts) {
      proxy.forge = forge;
      const result = await beat(code);
      assert.deepEqual([result.valid, result.reason, result.status, result.data], [false, 'untrusted_answer', null, null], what);
    }
    // Without pinned keys it is the marketplace's helper as before: the fake ALIVE is believed.
    proxy.forge = (request) => alive(request, code);
    assert.equal((await beat(code, false)).valid, true);
  });
});

type ProxyForge = NonNullable<ForgingProxy['forge']>;
