import { strict as assert } from 'node:assert';
import { cpSync, readFileSync } from 'node:fs';
import type { FingerprintHashes } from '@licensor/client/contract';
import { storePaths } from '@licensor/client';
import { DAY } from './support/clock';
import { forEachEngine } from './support/databases';
import { ForgingProxy } from './support/forging-proxy';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';
import { claimsOf, clientOf, hashesOf, issueCode, Machines, plantStore, readStore, StoreDirs } from './support/license-clients';
import { assertRefusal } from './support/refusals';

/**
 * The attack review's first finding (docs/security.md "One seat is one machine"): with nothing but
 * an activation id and a fingerprint, both readable in every lease token, a crafted heartbeat mixing
 * two machines' components reached the match threshold for both, and the server signed the mix into
 * a token that checked valid on both. Each case below mounts the attack against a real server and
 * the built client on two fixture machines, A and B, and fails if it works again.
 */
forEachEngine('attack: one seat serving two machines', (engine) => {
  let server: TestServer;
  const machines = new Machines();
  const dirs = new StoreDirs();
  const A = 'nvme-bare-metal' as const;
  const B = 'md-raid-udev' as const;

  before(async () => {
    server = await startTestServer(engine);
    for (const strategy of ['fuzzy', 'loose'] as const) {
      const res = await admin(server.url, 'POST', '/v1/admin/products', { name: `seat-${strategy}`, matchStrategy: strategy });
      assert.equal(res.status, 201, res.text);
    }
  });
  after(async () => {
    await server?.close();
    machines.remove();
    dirs.remove();
  });

  /** Machine A activated with the real client: its store directory, activation id and secret. */
  async function activatedA(product: string, seats = 1) {
    const dir = dirs.make();
    const client = await clientOf(server, product, machines.source(A), dir, { matchStrategy: product === 'seat-loose' ? 'loose' : 'fuzzy' });
    assert.equal((await client.activate(await issueCode(server, product, seats, 3650))).valid, true);
    const stored = readStore(dir, product);
    return { client, dir, token: stored.token, secret: stored.state.secret as string, activationId: claimsOf(stored.token).activation.id as string };
  }

  const beat = (activationId: string, fingerprint: FingerprintHashes, proof: Record<string, string>) =>
    call(server.url, 'POST', '/v1/heartbeat', { activationId, fingerprint, ...proof });

  it('a copied activation id and fingerprint mint nothing: no proof, a guessed secret, another activation’s token', async () => {
    const a = await activatedA('seat-fuzzy');
    const other = await activatedA('seat-fuzzy');
    const { id } = claimsOf(a.token).activation;
    const fingerprint = claimsOf(a.token).activation.fingerprint;
    assertRefusal(await beat(id, fingerprint, {}), 403, 'activation_proof_required');
    assertRefusal(await beat(id, fingerprint, { secret: 'A'.repeat(43) }), 403, 'activation_proof_invalid');
    assertRefusal(await beat(id, fingerprint, { secret: other.secret }), 403, 'activation_proof_invalid');
    assertRefusal(await beat(id, fingerprint, { token: other.token }), 403, 'activation_proof_invalid');
    // The holder's own proofs: its secret, and (for stores of older clients) its lease token.
    assert.equal((await beat(id, fingerprint, { secret: a.secret })).status, 200);
    assert.equal((await beat(id, fingerprint, { token: a.token })).status, 200);
  });

  for (const strategy of ['fuzzy', 'loose'] as const) {
    it(`every mix of A's and B's components, sent with A's secret, gets no token that checks valid on B (${strategy})`, async function () {
      this.timeout(120_000);
      const product = `seat-${strategy}`;
      const a = hashesOf(machines, A);
      const b = hashesOf(machines, B);
      const ids = Object.keys(b);
      const outcomes = new Map<string, number>();
      let minted = 0;
      for (let subset = 1; subset < 2 ** ids.length; subset++) {
        const mix: FingerprintHashes = { ...a };
        for (const [i, id] of ids.entries()) if (subset & (1 << i)) mix[id] = b[id]!;
        // A's activation, as the real client makes it (the same hashes), one per mix.
        const holder = (await call(server.url, 'POST', '/v1/activations', { code: await issueCode(server, product, 1, 3650), fingerprint: a })).body.activation;
        const res = await beat(holder.id, mix, { secret: holder.secret });
        const key = res.status === 200 ? '200' : `${res.status} ${res.body.error.code}/${res.body.error.details?.reason ?? ''}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        if (res.status !== 200) continue;
        minted++;
        // What a pirate then does with it: plant it in B's store (MAC and all) and check there.
        const onB = dirs.make();
        plantStore(onB, product, res.body.token, { secret: holder.secret });
        const check = (await clientOf(server, product, machines.source(B), onB, { matchStrategy: strategy })).check();
        assert.equal(check.valid, false, `the mix of ${ids.filter((_, i) => subset & (1 << i)).join(', ')} checks valid on B`);
        assert.equal(check.reason, 'fingerprint_mismatch');
      }
      // Only mixes that change one non-anchor component are re-enrolled; every other is refused.
      assert.ok(
        minted > 0 && minted <= ids.filter((id) => !['os.machineId', 'hw.systemUuid', 'hw.boardSerial', 'disk.bootSerial'].includes(id)).length,
        JSON.stringify([...outcomes]),
      );
    });
  }

  it('an unmodified client refuses a renewed token whose fingerprint is not the one it sent (a proxy rewriting heartbeats)', async () => {
    const a = await activatedA('seat-fuzzy');
    const proxy = await new ForgingProxy(server.url).start();
    try {
      const macsOfB = hashesOf(machines, B)['net.macs']!;
      proxy.forge = (request, upstream) => {
        if (request.path !== '/v1/heartbeat') return upstream(request);
        const body = JSON.parse(request.requestBody.toString('utf8'));
        body.fingerprint['net.macs'] = macsOfB;
        return upstream({ ...request, requestBody: Buffer.from(JSON.stringify(body)) });
      };
      const file = storePaths(a.dir, 'seat-fuzzy').license;
      const before = readFileSync(file);
      const client = await clientOf(server, 'seat-fuzzy', machines.source(A), a.dir, { serverUrl: proxy.url });
      const beat = await client.heartbeat();
      assert.equal(beat.outcome, 'refused');
      assert.equal((beat.error as { code?: string }).code, 'untrusted_answer');
      assert.equal((beat.error as { details?: { reason?: string } }).details?.reason, 'wrong_fingerprint');
      assert.ok(readFileSync(file).equals(before), 'the store is byte for byte unchanged');
      // The server did sign the rewritten fingerprint (it was A's, one NIC changed): the client is what refused it.
      assert.equal(proxy.last('/v1/heartbeat').status, 200);
    } finally {
      await proxy.close();
    }
  });

  it('two machines beating on one activation in turn are flagged a clone, refused with activation_cloned, audited and listed', async () => {
    const a = await activatedA('seat-fuzzy');
    // The pirate copies A's whole store directory (token, secret, clock mark) to machine B.
    const onB = dirs.make();
    cpSync(a.dir, onB, { recursive: true });
    const clientB = await clientOf(server, 'seat-fuzzy', machines.source(B), onB);
    const first = await a.client.heartbeat();
    assert.equal(first.outcome, 'renewed', String(first.error));
    server.clock.advance(60_000);
    const fromB = await clientB.heartbeat();
    assert.equal(fromB.outcome, 'refused');
    assert.equal((fromB.error as { code?: string }).code, 'fingerprint_mismatch');
    server.clock.advance(60_000);
    const fromA = await a.client.heartbeat();
    assert.equal(fromA.outcome, 'refused');
    assert.equal((fromA.error as { code?: string }).code, 'activation_cloned');
    assert.equal(((await clientB.heartbeat()).error as { code?: string }).code, 'activation_cloned');

    const shown = await admin(server.url, 'GET', `/v1/admin/activations/${a.activationId}`);
    assert.equal(shown.body.activation.cloneSuspect, true);
    assert.equal(shown.body.activation.clonedAt, new Date(server.clock.now()).toISOString());
    const audit = await admin(server.url, 'GET', `/v1/admin/audit?entity=${a.activationId}&action=activation.clone_suspected`);
    assert.equal(audit.body.items.length, 1);
    assert.equal(audit.body.items[0].after.reason, 'alternating_fingerprints');
  });

  it('a component changed back to what the last re-enrolment replaced, inside the window, is two machines: a clone', async () => {
    const a = await activatedA('seat-fuzzy');
    const own = hashesOf(machines, A);
    const swapped = { ...own, 'net.macs': hashesOf(machines, B)['net.macs']! };
    assert.equal((await beat(a.activationId, swapped, { secret: a.secret })).status, 200);
    assertRefusal(await beat(a.activationId, own, { secret: a.secret }), 409, 'activation_cloned');
  });

  it('cannot walk a license onto another machine one component per window, however patient', async () => {
    const a = await activatedA('seat-loose');
    const b = hashesOf(machines, B);
    let sent = hashesOf(machines, A);
    const outcomes: string[] = [];
    const tokens: string[] = [];
    for (const id of Object.keys(b)) {
      server.clock.advance(31 * DAY);
      const next = { ...sent, [id]: b[id]! };
      const res = await beat(a.activationId, next, { secret: a.secret });
      outcomes.push(`${id}: ${res.status === 200 ? 'accepted' : `${res.body.error.code}/${res.body.error.details.reason ?? ''}`}`);
      if (res.status !== 200) continue;
      sent = next;
      tokens.push(res.body.token);
    }
    // An anchor is never re-enrolled; and a beat naming another machine's anchor, followed by one
    // of the enrolled machine, is two machines taking turns: the activation stops there.
    assert.deepEqual(outcomes, [
      'os.machineId: fingerprint_changed/anchor_changed',
      'hw.systemUuid: fingerprint_changed/anchor_changed',
      'hw.boardSerial: fingerprint_changed/anchor_changed',
      'disk.bootSerial: fingerprint_changed/anchor_changed',
      'net.macs: activation_cloned/',
      'cpu.signature: activation_cloned/',
      'hw.model: activation_cloned/',
    ]);
    assert.deepEqual(tokens, []);
  });

  it('cannot walk it over the components that are not anchors either: the token still names A', async () => {
    const a = await activatedA('seat-loose');
    const b = hashesOf(machines, B);
    let sent = hashesOf(machines, A);
    let token = a.token;
    for (const id of ['net.macs', 'cpu.signature', 'hw.model']) {
      server.clock.advance(31 * DAY);
      const next = { ...sent, [id]: b[id]! };
      const res = await beat(a.activationId, next, { secret: a.secret });
      assert.equal(res.status, 200, `${id}: ${res.text}`);
      sent = next;
      token = res.body.token;
    }
    const onB = dirs.make();
    plantStore(onB, 'seat-loose', token, { secret: a.secret });
    assert.equal((await clientOf(server, 'seat-loose', machines.source(B), onB, { matchStrategy: 'loose' })).check().reason, 'fingerprint_mismatch');
  });
});
