import { strict as assert } from 'node:assert';
import http from 'node:http';
import type { collectSync, LicenseClientError } from '@licensor/client';
import { answerSigningInput, KeySet, parseSignatureHeader, requestDigest, UNREAD_BODY, verifyAnswerSignature } from '@licensor/client/contract';
import { forEachEngine } from './support/databases';
import { startTestServer, type TestServer } from './support/harness';
import { admin } from './support/http';
import { clientOf, issueCode, publishedKeys, StoreDirs } from './support/license-clients';

/**
 * Signed refusals that could pass as answers to other requests: a refusal of a body the server
 * did not parse must be signed over what it received, or over a mark that no body has
 * (docs/server.md "Signed answers").
 */

forEachEngine('attack: passing off 413 and 415 refusals of the client API', (engine) => {
  let server: TestServer;
  let keys: KeySet;
  before(async () => {
    server = await startTestServer(engine);
    keys = new KeySet([await publishedKeys(server)]);
  });
  const dirs = new StoreDirs();
  after(async () => {
    await server?.close();
    dirs.remove();
  });

  const NONCE = 'refusal-nonce-0123456789';
  const verifies = (res: { status: number; headers: http.IncomingHttpHeaders; bytes: Buffer }, digest: string) => {
    const header = parseSignatureHeader(res.headers['licensor-signature'] as string);
    assert.ok(header, `no signature on the ${res.status}`);
    const input = answerSigningInput({ nonce: NONCE, method: 'POST', target: '/v1/activations', requestDigest: digest, status: res.status }, res.bytes);
    return verifyAnswerSignature(header, input, keys, new Set(['EdDSA'])) === null;
  };

  it('signs a 415 over the digest of the body it received', async () => {
    const body = Buffer.from('code=ABCDE&fingerprint=x');
    const res = await raw(
      server.url,
      { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length), 'licensor-nonce': NONCE },
      body,
    );
    assert.equal(res.status, 415);
    assert.ok(verifies(res, requestDigest(body)), 'the 415 does not verify over the digest of what was sent');
    assert.ok(!verifies(res, requestDigest(undefined)));
  });

  it('lets the client tell a genuine 413 from a forged answer: it reports the server’s refusal, not an untrusted answer', async () => {
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'oversized' });
    // A fingerprint of 2,000 NICs: over the client API's 32 KiB once hashed.
    const macs = Array.from({ length: 2000 }, (_, i) =>
      `02:00:${[i >> 8, i & 255, 1, 1].map((b) => b.toString(16).padStart(2, '0')).join(':')}`.replace(/^02/, '0a'),
    );
    const source = () =>
      ({
        platform: 'linux',
        components: { 'os.machineId': { status: 'ok', value: '0123456789abcdef0123456789abcdef' }, 'net.macs': { status: 'ok', value: macs } },
        env: { virtualized: false, container: false, evidence: [] },
        hardware: { bootDisks: [] },
      }) as unknown as ReturnType<typeof collectSync>;
    const client = await clientOf(server, 'oversized', source, dirs.make());
    await assert.rejects(client.activate(await issueCode(server, 'oversized', 1)), (err: LicenseClientError) => {
      assert.equal(err.code, 'payload_too_large', err.message);
      assert.equal(err.status, 413);
      return true;
    });
  });

  it('signs a 413, whose body it never read, over the unread-body mark, never as an empty body', async () => {
    const body = Buffer.from(JSON.stringify({ code: 'x', pad: 'y'.repeat(40_000) }));
    const res = await raw(server.url, { 'content-type': 'application/json', 'content-length': String(body.length), 'licensor-nonce': NONCE }, body);
    assert.equal(res.status, 413);
    assert.ok(verifies(res, UNREAD_BODY), 'the 413 does not verify over the unread-body mark');
    assert.ok(!verifies(res, requestDigest(undefined)), 'the 413 passes as the answer to an empty body');
  });
});

/** A POST of exact bytes with exact headers (fetch would not send a form body as it is). */
function raw(base: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: Buffer }> {
  const url = new URL('/v1/activations', base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, bytes: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
