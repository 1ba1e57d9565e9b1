import { strict as assert } from 'node:assert';
import { answerSigningInput, KeySet, parseSignatureHeader, requestDigest, UNREAD_BODY, verifyAnswerSignature } from '@licensor/client/contract';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call, type Answer } from './support/http';
import { claimsOf, issueCode, publishedKeys } from './support/license-clients';

const NONCE = 'dispatch-nonce-0123456789abcdef';

/**
 * `POST /v1/heartbeat` is answered without walking Express's router (src/http/heartbeat/direct-route.ts);
 * the same path spelt otherwise goes through the router to the same route. Both must be one
 * route to every observer: the client, its signature check, the error codes, the metrics.
 */
forEachEngine('the heartbeat route, answered with or without the router', (engine) => {
  let server: TestServer;
  let keys: KeySet;
  const product = `dispatch-${engine}`;
  // The exact path is answered directly; a query string or other letter case goes through the router.
  const SPELLINGS = ['/v1/heartbeat', '/v1/heartbeat?via=router', '/V1/Heartbeat'];

  before(async () => {
    server = await startTestServer(engine);
    assert.equal((await admin(server.url, 'POST', '/v1/admin/products', { name: product })).status, 201);
    keys = new KeySet([await publishedKeys(server)]);
  });
  after(async () => server?.close());

  /** A new activation: its id and its secret. */
  async function activation(name: string): Promise<{ id: string; secret: string }> {
    const code = await issueCode(server, product, 1);
    const res = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine(name) });
    assert.equal(res.status, 201, res.text);
    return { id: res.body.activation.id, secret: res.body.activation.secret };
  }

  /** A heartbeat sent as raw bytes to `target`, and whether its answer's signature verifies for exactly that request. */
  async function beat(target: string, body: string, headers: Record<string, string> = {}) {
    const answer = await call(server.url, 'POST', target, body, { 'licensor-nonce': NONCE, ...headers });
    // A body too large to read is answered over the unread-body mark (docs/server.md "Signed answers").
    const digest = answer.status === 413 ? UNREAD_BODY : requestDigest(Buffer.from(body));
    return { answer, signatureFailure: signatureFailure(answer, target, digest) };
  }

  /** Null when the answer is authenticated for exactly this request (the reason otherwise). */
  function signatureFailure(answer: Answer, target: string, digest: string): string | null {
    if (answer.status === 200 && answer.body.token) {
      // An answer with a token is authenticated by the token, which carries the nonce.
      return claimsOf(answer.body.token).nonce === NONCE ? null : 'token without the nonce';
    }
    const header = parseSignatureHeader(answer.headers.get('licensor-signature'));
    if (!header) return 'no Licensor-Signature';
    const input = answerSigningInput({ nonce: NONCE, method: 'POST', target, requestDigest: digest, status: answer.status }, Buffer.from(answer.text));
    return verifyAnswerSignature(header, input, keys, new Set(['EdDSA']));
  }

  /** What a client can tell apart: status, error code, the answer's fields, the headers it gets. */
  function outcome(answer: Answer) {
    const headers = [...answer.headers.keys()].filter((h) => h !== 'date' && h !== 'content-length').sort();
    const body = answer.body?.error
      ? { error: answer.body.error.code }
      : { status: answer.body?.status, license: answer.body?.license, update: answer.body?.update };
    return { status: answer.status, body, headers, contentType: answer.headers.get('content-type') };
  }

  it('answers a beat, and refuses every kind of bad beat, the same on every spelling of its path', async () => {
    const { id, secret } = await activation('spelt-1');
    const cases: Array<[string, string, Record<string, string>, number]> = [
      ['a beat', JSON.stringify({ activationId: id, secret, fingerprint: machine('spelt-1') }), {}, 200],
      ['another machine', JSON.stringify({ activationId: id, secret, fingerprint: machine('spelt-stranger') }), {}, 403],
      ['no proof of holding it', JSON.stringify({ activationId: id, fingerprint: machine('spelt-1') }), {}, 403],
      ['an unknown activation', JSON.stringify({ activationId: '00000000-0000-7000-8000-000000000000', fingerprint: machine('x') }), {}, 404],
      ['a body of the wrong shape', JSON.stringify({ activationId: 7, fingerprint: 'none' }), {}, 400],
      ['bad JSON', '{"activationId":', {}, 400],
      ['a bare string', '"beat"', {}, 400],
      ['a text body', 'activationId=1', { 'content-type': 'text/plain' }, 415],
      ['a body over the limit', JSON.stringify({ activationId: id, fingerprint: machine('x'), pad: 'x'.repeat(200_000) }), {}, 413],
    ];
    for (const [what, body, headers, status] of cases) {
      const answers = [];
      for (const target of SPELLINGS) {
        const { answer, signatureFailure: failure } = await beat(target, body, headers);
        assert.equal(answer.status, status, `${what} at ${target}: ${answer.text}`);
        assert.equal(failure, null, `${what} at ${target}: the answer's signature`);
        assert.match(answer.headers.get('x-request-id') ?? '', /^[\w.-]+$/, `${what} at ${target}: request id`);
        answers.push(outcome(answer));
      }
      for (let i = 1; i < answers.length; i++) assert.deepEqual(answers[i], answers[0], `${what}: ${SPELLINGS[i]} against ${SPELLINGS[0]}`);
    }
  });

  it('keeps a request id the client sent, on every spelling', async () => {
    const { id, secret } = await activation('spelt-2');
    for (const target of SPELLINGS) {
      const { answer } = await beat(target, JSON.stringify({ activationId: id, secret, fingerprint: machine('spelt-2') }), {
        'x-request-id': 'client-chosen.id-1',
      });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.headers.get('x-request-id'), 'client-chosen.id-1');
    }
  });

  it('counts every spelling as the one heartbeat route in the request metrics and the heartbeat outcomes', async () => {
    const { id, secret } = await activation('spelt-3');
    const scrape = async () => (await call(server.url, 'GET', '/metrics')).text;
    const series = (text: string, line: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(line))
          ?.split(' ')
          .pop() ?? 0,
      );
    const requests = 'licensor_http_requests_total{method="POST",route="/v1/heartbeat",status="200"}';
    const beats = 'licensor_heartbeats_total{result="ok"}';
    const before = await scrape();
    for (const target of SPELLINGS)
      assert.equal((await beat(target, JSON.stringify({ activationId: id, secret, fingerprint: machine('spelt-3') }))).answer.status, 200);
    const after = await scrape();
    assert.equal(series(after, requests) - series(before, requests), SPELLINGS.length);
    assert.equal(series(after, beats) - series(before, beats), SPELLINGS.length);
  });

  it('leaves other methods on its path to the router', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await call(server.url, method, '/v1/heartbeat', undefined, { 'licensor-nonce': NONCE });
      assert.equal(res.status, 404, `${method}: ${res.text}`);
      assert.equal(res.body.error.code, 'route_not_found');
    }
  });
});
