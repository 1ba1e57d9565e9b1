import { strict as assert } from 'node:assert';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LicenseClientError, type LicenseClient } from '@licensor/client';
import { answerSigningInput, KeySet, parseSignatureHeader, requestDigest, verifyAnswerSignature } from '@licensor/client/contract';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { altered, ForgingProxy, signAs, withJson } from './support/forging-proxy';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call, type Answer } from './support/http';
import { claimsOf, clientOf, issueCode, Machines, publishedKeys, readStore, StoreDirs } from './support/license-clients';

const NONCE = 'test-nonce-0123456789abcdef';

/** Every file of a store directory, byte for byte: "changes nothing stored" means this is equal. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name), 'base64')]));
}

forEachEngine('signed answers of the client API', (engine) => {
  let server: TestServer;
  let keys: KeySet;
  const product = `signed-${engine}`;

  before(async () => {
    server = await startTestServer(engine);
    assert.equal((await admin(server.url, 'POST', '/v1/admin/products', { name: product })).status, 201);
    keys = new KeySet([await publishedKeys(server)]);
  });
  after(async () => server?.close());

  /** A raw client-API call with a nonce, and whether its body signature verifies for exactly that request. */
  async function signedCall(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const sent = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const answer = await call(server.url, method, path, sent?.toString(), { 'licensor-nonce': NONCE, ...headers });
    const header = parseSignatureHeader(answer.headers.get('licensor-signature'));
    assert.ok(header, `no Licensor-Signature on ${method} ${path} (${answer.status})`);
    const input = answerSigningInput(
      { nonce: NONCE, method, target: path, requestDigest: requestDigest(sent), status: answer.status },
      Buffer.from(answer.text),
    );
    return { answer, header, failure: verifyAnswerSignature(header, input, keys, new Set(['EdDSA'])) };
  }

  const currentKid = () => (keys as unknown as { byKid: Map<string, unknown> }).byKid.keys().next().value as string;

  it('signs an activation, naming the current key, over the body, the nonce and the request', async () => {
    const code = await issueCode(server, product, 2);
    const { answer, header, failure } = await signedCall('POST', '/v1/activations', { code, fingerprint: machine('signed-1') });
    assert.equal(answer.status, 201);
    assert.equal(header.kid, currentKid());
    assert.equal(header.alg, 'EdDSA');
    assert.equal(failure, null);
    assert.equal(answer.headers.get('licensor-nonce'), NONCE);
  });

  it('signs answers made side by side, each for its own request, while others are in flight (their signatures on the thread pool)', async () => {
    const code = await issueCode(server, product, 6);
    const answers = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const nonce = `side-by-side-nonce-${String(i).padStart(4, '0')}`;
        const sent = Buffer.from(JSON.stringify({ code, fingerprint: machine(`side-${i}`) }));
        const answer = await call(server.url, 'POST', '/v1/activations', sent.toString(), { 'licensor-nonce': nonce });
        const header = parseSignatureHeader(answer.headers.get('licensor-signature'));
        assert.ok(header, `no Licensor-Signature (${answer.status})`);
        const input = answerSigningInput(
          { nonce, method: 'POST', target: '/v1/activations', requestDigest: requestDigest(sent), status: answer.status },
          Buffer.from(answer.text),
        );
        return { status: answer.status, failure: verifyAnswerSignature(header, input, keys, new Set(['EdDSA'])) };
      }),
    );
    // Six seats: six machines got one, six were refused, and every answer is signed for its own request.
    assert.deepEqual(answers.map((a) => a.status).sort(), [...Array<number>(6).fill(201), ...Array<number>(6).fill(409)]);
    assert.deepEqual(
      answers.map((a) => a.failure),
      Array<null>(12).fill(null),
    );
  });

  it('answers 500, unsigned, when no answer can be signed, and signs again once it can', async () => {
    const { runtime } = server.running;
    runtime.keyRing.load([]);
    try {
      const answer = await call(server.url, 'POST', '/v1/activations', '{"code":', { 'licensor-nonce': NONCE });
      assert.equal(answer.status, 500);
      assert.equal(JSON.parse(answer.text).error.code, 'internal_error');
      assert.equal(answer.headers.get('licensor-signature'), null);
    } finally {
      runtime.keyRing.load(await runtime.ctx.repo.keys.list());
    }
    const code = await issueCode(server, product, 1);
    const { answer, failure } = await signedCall('POST', '/v1/activations', { code, fingerprint: machine('after-keys') });
    assert.equal(answer.status, 201);
    assert.equal(failure, null);
  });

  it('signs refusals too: unknown code, bad JSON, a full code, a bad deactivation proof, an unknown route under /v1/activations or /v1/heartbeat', async () => {
    const code = await issueCode(server, product, 1);
    assert.equal((await signedCall('POST', '/v1/activations', { code, fingerprint: machine('full-1') })).answer.status, 201);
    const cases: Array<[string, string, unknown, number, string]> = [
      ['POST', '/v1/activations', { code: 'AAAAA-AAAAA-AAAAA-AAAAA-AAAAA', fingerprint: machine('x') }, 404, 'code_not_found'],
      ['POST', '/v1/activations', { code, fingerprint: machine('full-2') }, 409, 'seat_limit_reached'],
      ['POST', '/v1/heartbeat', { activationId: '00000000-0000-7000-8000-000000000000', fingerprint: machine('x') }, 404, 'activation_not_found'],
      ['DELETE', '/v1/activations/00000000-0000-7000-8000-000000000000', { token: 'a.b.c' }, 403, 'activation_proof_invalid'],
      ['GET', '/v1/activations/nothing-here', undefined, 404, 'route_not_found'],
      // The heartbeat route is mounted ahead of the rest (app.ts); another method on its path is not.
      ['GET', '/v1/heartbeat', undefined, 404, 'route_not_found'],
      ['PUT', '/v1/heartbeat/extra', undefined, 404, 'route_not_found'],
    ];
    for (const [method, path, body, status, errorCode] of cases) {
      const { answer, failure } = await signedCall(method, path, body);
      assert.equal(answer.status, status, `${method} ${path}: ${answer.text}`);
      assert.equal(answer.body.error.code, errorCode);
      assert.equal(failure, null, `${method} ${path}`);
    }
    const badJson = await call(server.url, 'POST', '/v1/heartbeat', '{"activationId":', { 'licensor-nonce': NONCE });
    assert.equal(badJson.status, 400);
    const header = parseSignatureHeader(badJson.headers.get('licensor-signature'))!;
    const input = answerSigningInput(
      { nonce: NONCE, method: 'POST', target: '/v1/heartbeat', requestDigest: requestDigest(Buffer.from('{"activationId":')), status: 400 },
      Buffer.from(badJson.text),
    );
    assert.equal(verifyAnswerSignature(header, input, keys, new Set(['EdDSA'])), null);
  });

  it('binds the signature to the request: the same answer does not verify for another nonce, path, body or status', async () => {
    const code = await issueCode(server, product, 1);
    const body = { code, fingerprint: machine('bound') };
    const { answer, header } = await signedCall('POST', '/v1/activations', body);
    const base = {
      nonce: NONCE,
      method: 'POST',
      target: '/v1/activations',
      requestDigest: requestDigest(Buffer.from(JSON.stringify(body))),
      status: answer.status,
    };
    const verifies = (change: Partial<typeof base>, bytes = Buffer.from(answer.text)) =>
      verifyAnswerSignature(header, answerSigningInput({ ...base, ...change }, bytes), keys, new Set(['EdDSA']));
    assert.equal(verifies({}), null);
    assert.equal(verifies({ nonce: 'another-nonce-0123456789' }), 'bad_signature');
    assert.equal(verifies({ target: '/v1/heartbeat' }), 'bad_signature');
    assert.equal(verifies({ requestDigest: requestDigest(Buffer.from('{}')) }), 'bad_signature');
    assert.equal(verifies({ status: 200 }), 'bad_signature');
    assert.equal(verifies({}, Buffer.from(answer.text.replace('"alive"', '"frozen"'))), 'bad_signature');
  });

  it('refuses a signature of the wrong length, by an unknown key, or under an alg the key does not have or the client does not allow', async () => {
    const code = await issueCode(server, product, 1);
    const body = { code, fingerprint: machine('checked') };
    const { answer, header } = await signedCall('POST', '/v1/activations', body);
    const input = answerSigningInput(
      { nonce: NONCE, method: 'POST', target: '/v1/activations', requestDigest: requestDigest(Buffer.from(JSON.stringify(body))), status: answer.status },
      Buffer.from(answer.text),
    );
    const verifies = (change: Partial<typeof header>, algorithms: ReadonlySet<'EdDSA' | 'ES256'> = new Set(['EdDSA'])) =>
      verifyAnswerSignature({ ...header, ...change }, input, keys, algorithms);
    assert.equal(verifies({}), null);
    assert.equal(verifies({ sig: header.sig!.slice(0, -4) }), 'malformed_signature');
    assert.equal(verifies({ kid: 'no-such-key' }), 'unknown_key');
    assert.equal(verifies({ alg: 'ES256' }, new Set(['EdDSA', 'ES256'])), 'alg_not_allowed');
    assert.equal(verifies({ alg: 'HS256' }), 'alg_not_allowed');
    assert.equal(verifies({}, new Set(['ES256'])), 'alg_not_allowed');
    assert.equal(verifies({ sig: null }), 'unsigned');
  });

  it('lets the lease token carry the nonce and authenticate a heartbeat answer, with one signature', async () => {
    const code = await issueCode(server, product, 1);
    const activation = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('beater') });
    const beat = await call(
      server.url,
      'POST',
      '/v1/heartbeat',
      { activationId: activation.body.activation.id, secret: activation.body.activation.secret, fingerprint: machine('beater') },
      { 'licensor-nonce': NONCE },
    );
    assert.equal(beat.status, 200);
    const header = parseSignatureHeader(beat.headers.get('licensor-signature'))!;
    assert.equal(header.sig, null, 'no second signature over the body');
    assert.equal(header.covered, 'token');
    const claims = claimsOf(beat.body.token);
    assert.equal(claims.nonce, NONCE);
    assert.equal(claims.activation.id, activation.body.activation.id);
    // Sent without Express's response layers, it has the headers of any other JSON answer.
    const unsigned = await call(server.url, 'POST', '/v1/heartbeat', {
      activationId: activation.body.activation.id,
      secret: activation.body.activation.secret,
      fingerprint: machine('beater'),
    });
    const names = (a: Answer) => [...a.headers.keys()].filter((n) => n !== 'licensor-nonce').sort();
    assert.deepEqual(names(beat), names(unsigned));
    assert.equal(beat.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(Number(beat.headers.get('content-length')), Buffer.byteLength(beat.text));
  });

  it("covers an activation's answer by its lease token for a client that asks: the token carries the nonce and the secret's hash, one signature in all", async () => {
    const code = await issueCode(server, product, 1);
    const covered = { 'licensor-nonce': NONCE, 'licensor-accept-covered': 'token' };
    const first = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('covered') }, covered);
    // The same machine again gets its own seat back (200) with a new secret, covered the same way.
    const again = await call(
      server.url,
      'POST',
      '/v1/activations',
      { code, fingerprint: machine('covered') },
      { ...covered, 'licensor-nonce': `${NONCE}-again` },
    );
    assert.deepEqual([first.status, again.status], [201, 200]);
    for (const [answer, nonce] of [
      [first, NONCE],
      [again, `${NONCE}-again`],
    ] as const) {
      const header = parseSignatureHeader(answer.headers.get('licensor-signature'))!;
      assert.equal(header.sig, null, 'no signature over the body');
      assert.equal(header.covered, 'token');
      assert.equal(header.kid, currentKid());
      const claims = claimsOf(answer.body.token);
      assert.equal(claims.nonce, nonce);
      assert.equal(claims.activation.id, first.body.activation.id);
      assert.equal(claims.activation.secretHash, createHash('sha256').update(answer.body.activation.secret, 'utf8').digest('hex'));
      assert.equal(answer.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(Number(answer.headers.get('content-length')), Buffer.byteLength(answer.text));
    }
    assert.notEqual(again.body.activation.secret, first.body.activation.secret);
  });

  it('signs the body of an activation for a client that does not ask (older clients) or sends no nonce, and its token carries neither', async () => {
    const code = await issueCode(server, product, 2);
    const { answer, failure } = await signedCall('POST', '/v1/activations', { code, fingerprint: machine('uncovered-1') });
    const noNonce = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('uncovered-2') }, { 'licensor-accept-covered': 'token' });
    assert.equal(failure, null);
    assert.equal(noNonce.status, 201);
    const header = parseSignatureHeader(noNonce.headers.get('licensor-signature'))!;
    assert.ok(header.sig);
    assert.equal(header.covered, null);
    for (const token of [answer.body.token, noNonce.body.token]) {
      assert.equal(claimsOf(token).nonce, undefined);
      assert.equal(claimsOf(token).activation.secretHash, undefined);
    }
  });

  it('signs the body of a heartbeat answer that has no token (frozen), and of one sent without a nonce', async () => {
    const code = await issueCode(server, product, 1);
    const activation = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('frozen-beater') });
    const beat = { activationId: activation.body.activation.id, secret: activation.body.activation.secret, fingerprint: machine('frozen-beater') };
    const plain = await call(server.url, 'POST', '/v1/heartbeat', beat);
    assert.ok(parseSignatureHeader(plain.headers.get('licensor-signature'))!.sig, 'without a nonce the token cannot stand in for the signature');
    await admin(server.url, 'POST', `/v1/admin/codes/${code}/freeze`);
    const { answer, failure, header } = await signedCall('POST', '/v1/heartbeat', beat);
    assert.equal(answer.body.status, 'frozen');
    assert.equal(answer.body.token, null);
    assert.ok(header.sig);
    assert.equal(failure, null);
  });

  it('signs the JWKS under /v1, and refuses a malformed nonce with a signed invalid_nonce', async () => {
    const jwks = await signedCall('GET', '/v1/jwks');
    assert.equal(jwks.failure, null);
    const bad = await call(server.url, 'POST', '/v1/heartbeat', {}, { 'licensor-nonce': 'short' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_nonce');
    assert.ok(parseSignatureHeader(bad.headers.get('licensor-signature'))?.sig);
  });
});

forEachEngine('the client against a forging proxy', (engine) => {
  let server: TestServer;
  let proxy: ForgingProxy;
  const machines = new Machines();
  const dirs = new StoreDirs();
  const product = `forged-${engine}`;
  const attacker = generateKeyPairSync('ed25519');

  before(async () => {
    server = await startTestServer(engine);
    assert.equal((await admin(server.url, 'POST', '/v1/admin/products', { name: product })).status, 201);
    proxy = await new ForgingProxy(server.url).start();
  });
  afterEach(() => {
    proxy.forge = null;
  });
  after(async () => {
    await proxy?.close();
    await server?.close();
    machines.remove();
    dirs.remove();
  });

  /** A client activated through the (honest, for now) proxy. */
  async function activated(machineName: Parameters<Machines['source']>[0] = 'nvme-bare-metal', seats = 1) {
    const code = await issueCode(server, product, seats);
    const storeDir = dirs.make();
    const client = await clientOf(server, product, machines.source(machineName), storeDir, { serverUrl: proxy.url });
    assert.equal((await client.activate(code)).valid, true);
    return { code, storeDir, client, activationId: claimsOf(readStore(storeDir, product).token).activation.id as string };
  }

  async function refusedBeat(client: LicenseClient, storeDir: string, reason: string) {
    const checkBefore = client.check();
    const before = snapshot(storeDir);
    const beat = await client.heartbeat();
    assert.equal(beat.outcome, 'refused', `outcome ${beat.outcome}: ${beat.error?.message}`);
    assert.ok(beat.error instanceof LicenseClientError);
    assert.equal(beat.error.code, reason === 'untrusted_key' ? 'untrusted_key' : 'untrusted_answer', beat.error.message);
    if (reason !== 'untrusted_key') assert.equal(beat.error.details?.reason, reason);
    assert.deepEqual(snapshot(storeDir), before, 'nothing stored changed');
    assert.equal(client.check(), checkBefore);
    assert.equal(client.check().valid, true);
    return beat;
  }

  it('works through an honest proxy (the baseline of every case below), the activation covered by its token', async () => {
    const { client } = await activated();
    assert.equal(parseSignatureHeader(proxy.last('/v1/activations').headers['licensor-signature'] ?? null)?.covered, 'token');
    assert.equal((await client.heartbeat()).outcome, 'renewed');
  });

  it('refuses a "released" answer invented by a fake server (unsigned)', async () => {
    const { client, storeDir } = await activated();
    proxy.forge = (request) =>
      withJson(request, 409, { error: { code: 'activation_ended', message: 'gone', details: { status: 'deactivated', codeStatus: 'released' } } });
    await refusedBeat(client, storeDir, 'unsigned');
  });

  it('refuses an altered answer: a signed refusal whose body was edited', async () => {
    const { client, storeDir, code } = await activated();
    await admin(server.url, 'POST', `/v1/admin/codes/${code}/freeze`);
    proxy.forge = altered((genuine) => ({ ...genuine, body: Buffer.from(genuine.body.toString().replace('"frozen"', '"released"')) }));
    await refusedBeat(client, storeDir, 'bad_signature');
    proxy.forge = null;
    await admin(server.url, 'POST', `/v1/admin/codes/${code}/unfreeze`);
  });

  it('refuses a token-covered answer whose body was rewritten to a revocation', async () => {
    const { client, storeDir } = await activated();
    proxy.forge = altered((genuine) => ({
      ...genuine,
      body: Buffer.from(JSON.stringify({ ...JSON.parse(genuine.body.toString()), status: 'released', token: null })),
    }));
    await refusedBeat(client, storeDir, 'unsigned');
  });

  it("refuses a replay of an earlier genuine heartbeat answer (its token carries another request's nonce)", async () => {
    const { client, storeDir } = await activated();
    assert.equal((await client.heartbeat()).outcome, 'renewed');
    const recorded = proxy.last('/v1/heartbeat');
    proxy.forge = () => recorded;
    await refusedBeat(client, storeDir, 'nonce_mismatch');
  });

  it("refuses a replay of another machine's genuine, signed revocation", async () => {
    const victim = await activated('nvme-bare-metal');
    const other = await activated('sata-lvm');
    await admin(server.url, 'POST', `/v1/admin/codes/${other.code}/release`);
    assert.equal((await other.client.heartbeat()).outcome, 'revoked');
    const revocation = proxy.last('/v1/heartbeat');
    assert.equal(revocation.status, 409);
    proxy.forge = () => revocation;
    await refusedBeat(victim.client, victim.storeDir, 'bad_signature');
  });

  it("refuses the server's signed answer to another request the proxy sent with the client's nonce", async () => {
    const { client, storeDir } = await activated();
    // The proxy asks about an activation that does not exist, with the client's fresh nonce: the
    // server's signed activation_not_found would end the seat if it were believed.
    proxy.forge = (request, upstream) =>
      upstream({
        ...request,
        requestBody: Buffer.from(JSON.stringify({ ...JSON.parse(request.requestBody.toString()), activationId: '00000000-0000-7000-8000-000000000000' })),
      });
    await refusedBeat(client, storeDir, 'bad_signature');
  });

  it('refuses an answer re-signed with another key (untrusted_key), or with another key under the real kid', async () => {
    const { client, storeDir, code } = await activated();
    await admin(server.url, 'POST', `/v1/admin/codes/${code}/freeze`);
    proxy.forge = altered((genuine) =>
      signAs({ ...genuine, body: Buffer.from(genuine.body.toString().replace('"frozen"', '"released"')) }, attacker.privateKey, 'attacker-key'),
    );
    await refusedBeat(client, storeDir, 'untrusted_key');
    const realKid = (await publishedKeys(server)).keys[0]!.kid as string;
    proxy.forge = altered((genuine) =>
      signAs({ ...genuine, body: Buffer.from(genuine.body.toString().replace('"frozen"', '"released"')) }, attacker.privateKey, realKid),
    );
    await refusedBeat(client, storeDir, 'bad_signature');
    proxy.forge = null;
    await admin(server.url, 'POST', `/v1/admin/codes/${code}/unfreeze`);
  });

  it('refuses a fake activation (token and answer signed by another key) and stores nothing', async () => {
    const code = await issueCode(server, product, 1);
    const storeDir = dirs.make();
    const client = await clientOf(server, product, machines.source('vm-virtio'), storeDir, { serverUrl: proxy.url });
    proxy.forge = altered((genuine) => signAs(genuine, attacker.privateKey, 'attacker-key'));
    await assert.rejects(client.activate(code), (err: LicenseClientError) => err.code === 'untrusted_key');
    assert.deepEqual(
      Object.keys(snapshot(storeDir)).filter((f) => f.endsWith('.license.json')),
      [],
    );
    assert.equal(client.check().reason, 'no_license');
  });

  it('refuses a token-covered activation whose secret was replaced, and stores nothing', async () => {
    const code = await issueCode(server, product, 1);
    const storeDir = dirs.make();
    const client = await clientOf(server, product, machines.source('vm-virtio'), storeDir, { serverUrl: proxy.url });
    proxy.forge = altered((genuine) => {
      const body = JSON.parse(genuine.body.toString());
      body.activation.secret = 'a-secret-the-man-in-the-middle-chose';
      return { ...genuine, body: Buffer.from(JSON.stringify(body)) };
    });
    await assert.rejects(client.activate(code), (err: LicenseClientError) => err.code === 'untrusted_answer' && err.details?.reason === 'wrong_secret');
    assert.deepEqual(
      Object.keys(snapshot(storeDir)).filter((f) => f.endsWith('.license.json')),
      [],
    );
    assert.equal(client.check().reason, 'no_license');
  });

  it("refuses another client's genuine activation answer passed off as its own, before giving that seat back", async () => {
    // Believed, a token for another product makes a client give the seat back (wrong_product): the
    // seat of whoever the replayed answer was for.
    const otherProduct = `${product}-other`;
    assert.equal((await admin(server.url, 'POST', '/v1/admin/products', { name: otherProduct })).status, 201);
    const otherCode = await issueCode(server, otherProduct, 1);
    const other = await clientOf(server, otherProduct, machines.source('sata-lvm'), dirs.make(), { serverUrl: proxy.url });
    assert.equal((await other.activate(otherCode)).valid, true);
    const recorded = proxy.last('/v1/activations');
    const storeDir = dirs.make();
    const client = await clientOf(server, product, machines.source('vm-virtio'), storeDir, { serverUrl: proxy.url });
    proxy.forge = (request, upstream) => (request.method === 'POST' && request.path === '/v1/activations' ? recorded : upstream(request));
    await assert.rejects(
      client.activate(await issueCode(server, product, 1)),
      (err: LicenseClientError) => err.code === 'untrusted_answer' && err.details?.reason === 'nonce_mismatch',
    );
    proxy.forge = null;
    const held: Answer = await admin(server.url, 'GET', `/v1/admin/codes/${otherCode}/activations`);
    assert.equal(held.body.items[0].status, 'active');
    assert.equal((await other.heartbeat()).outcome, 'renewed');
    assert.equal(client.check().reason, 'no_license');
  });

  it('refuses a forged "deactivated" answer: the license stays stored and the seat stays held on the server', async () => {
    const { client, storeDir, code, activationId } = await activated();
    const before = snapshot(storeDir);
    // A fake server: the request never reaches the real one.
    proxy.forge = (request) => withJson(request, 200, { activation: { id: activationId, status: 'deactivated' } });
    await assert.rejects(client.deactivate(), (err: LicenseClientError) => err.code === 'untrusted_answer' && err.details?.reason === 'unsigned');
    assert.deepEqual(snapshot(storeDir), before);
    assert.equal(client.check().valid, true);
    const held: Answer = await admin(server.url, 'GET', `/v1/admin/codes/${code}/activations`);
    assert.equal(held.body.items[0].status, 'active');
  });

  it('treats an unsigned server error (a proxy page) as unreachable: nothing changes', async () => {
    const { client, storeDir } = await activated();
    const before = snapshot(storeDir);
    proxy.forge = (request) => ({ ...request, status: 502, headers: { 'content-type': 'text/html' }, body: Buffer.from('<h1>Bad gateway</h1>') });
    const beat = await client.heartbeat();
    assert.equal(beat.outcome, 'unreachable');
    assert.deepEqual(snapshot(storeDir), before);
  });

  it('still believes genuine signed revocations through the proxy', async () => {
    const { client, code } = await activated();
    await admin(server.url, 'POST', `/v1/admin/codes/${code}/release`);
    const beat = await client.heartbeat();
    assert.equal(beat.outcome, 'revoked');
    assert.equal(beat.license.reason, 'released');
  });
});
