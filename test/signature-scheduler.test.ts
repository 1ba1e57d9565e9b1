import { strict as assert } from 'node:assert';
import { createHook } from 'node:async_hooks';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { SignatureScheduler } from '../src/tokens/signature-scheduler';

describe('the signature scheduler', () => {
  const ed = generateKeyPairSync('ed25519');
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('signs a lone request with a signature that verifies', async () => {
    const data = Buffer.from('lone request');
    const signature = await new SignatureScheduler().sign(null, data, ed.privateKey);
    assert.ok(verify(null, data, ed.publicKey, signature));
  });

  it('gives each of many overlapping requests the signature of its own data', async () => {
    const scheduler = new SignatureScheduler();
    const inputs = Array.from({ length: 64 }, (_, i) => Buffer.from(`beat ${i}`));
    const signatures = await Promise.all(inputs.map((data) => scheduler.sign(null, data, ed.privateKey)));
    signatures.forEach((signature, i) => {
      assert.ok(verify(null, inputs[i]!, ed.publicKey, signature), `signature ${i}`);
      assert.equal(verify(null, inputs[(i + 1) % inputs.length]!, ed.publicKey, signature), false);
    });
  });

  it('signs ES256 as raw r||s, alone and in a batch', async () => {
    const scheduler = new SignatureScheduler();
    const key = { key: ec.privateKey, dsaEncoding: 'ieee-p1363' as const };
    const data = Buffer.from('es256');
    const lone = await scheduler.sign('sha256', data, key);
    const batch = await Promise.all([scheduler.sign('sha256', data, key), scheduler.sign('sha256', data, key)]);
    for (const signature of [lone, ...batch]) {
      assert.equal(signature.length, 64);
      assert.ok(verify('sha256', data, { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, signature));
    }
  });

  it('rejects the one request whose key cannot sign, alone or beside others that succeed', async () => {
    const scheduler = new SignatureScheduler();
    await assert.rejects(scheduler.sign(null, Buffer.from('x'), ed.publicKey));
    const [good, bad] = await Promise.allSettled([
      scheduler.sign(null, Buffer.from('good'), ed.privateKey),
      scheduler.sign(null, Buffer.from('bad'), ed.publicKey),
    ]);
    assert.equal(good.status, 'fulfilled');
    assert.equal(bad.status, 'rejected');
  });

  describe('told by the server whether the request is alone', () => {
    /**
     * How many signatures were made or verified on libuv's thread pool while `work` ran: a
     * SIGNREQUEST whose callback came back through the event loop (an inline one makes the
     * resource, never calls back).
     */
    async function threadPoolJobs(work: () => Promise<unknown>): Promise<number> {
      let jobs = 0;
      const requests = new Set<number>();
      const hook = createHook({
        init: (id, type) => void (type === 'SIGNREQUEST' && requests.add(id)),
        before: (id) => void (requests.has(id) && jobs++),
      }).enable();
      try {
        await work();
      } finally {
        hook.disable();
      }
      return jobs;
    }

    /** Whether a signature arrived before the end of the loop turn it was asked in. */
    async function signedWithinTheTurn(scheduler: SignatureScheduler): Promise<boolean> {
      let turnEnded = false;
      setImmediate(() => (turnEnded = true));
      const data = Buffer.from('beat');
      const signature = await scheduler.sign(null, data, ed.privateKey);
      assert.ok(verify(null, data, ed.publicKey, signature));
      return !turnEnded;
    }

    it('signs a request that is alone at once, on the event loop, without waiting for the turn to end', async () => {
      const scheduler = new SignatureScheduler({ alone: () => true });
      assert.equal(await threadPoolJobs(async () => assert.equal(await signedWithinTheTurn(scheduler), true)), 0);
    });

    it('sends every signature to the thread pool at once while others are being answered', async () => {
      const scheduler = new SignatureScheduler({ alone: () => false });
      const inputs = Array.from({ length: 8 }, (_, i) => Buffer.from(`beat ${i}`));
      let signatures: Buffer[] = [];
      assert.equal(await threadPoolJobs(async () => (signatures = await Promise.all(inputs.map((d) => scheduler.sign(null, d, ed.privateKey))))), 8);
      signatures.forEach((signature, i) => assert.ok(verify(null, inputs[i]!, ed.publicKey, signature)));
      assert.equal(await threadPoolJobs(() => scheduler.sign(null, inputs[0]!, ed.privateKey)), 1, 'one at a time too');
    });

    it('without being told, signs a lone request on the loop at the end of the turn and overlapping ones on the thread pool', async () => {
      const scheduler = new SignatureScheduler();
      assert.equal(await threadPoolJobs(async () => assert.equal(await signedWithinTheTurn(scheduler), false)), 0);
      assert.equal(await threadPoolJobs(() => Promise.all([1, 2, 3].map((i) => scheduler.sign(null, Buffer.from(`${i}`), ed.privateKey)))), 3);
    });

    it('verifies inline for a lone request and on the thread pool otherwise: true only for a genuine signature', async () => {
      const data = Buffer.from('a holder token');
      const genuine = sign(null, data, ed.privateKey);
      for (const alone of [true, false]) {
        const scheduler = new SignatureScheduler({ alone: () => alone });
        let answers: boolean[] = [];
        const jobs = await threadPoolJobs(
          async () =>
            (answers = await Promise.all([
              scheduler.verify(null, data, ed.publicKey, genuine),
              scheduler.verify(null, Buffer.from('another token'), ed.publicKey, genuine),
              scheduler.verify(null, data, ec.publicKey, genuine),
              // Ed25519 takes no digest: an error, which is a signature that does not hold.
              scheduler.verify('sha256', data, ed.publicKey, genuine),
            ])),
        );
        assert.deepEqual(answers, [true, false, false, false], alone ? 'alone' : 'among others');
        if (alone) assert.equal(jobs, 0);
        else assert.ok(jobs >= 3, `${jobs} verifications on the thread pool`);
      }
    });

    it('rejects a key that cannot sign on either path', async () => {
      for (const alone of [true, false]) {
        const scheduler = new SignatureScheduler({ alone: () => alone });
        await assert.rejects(scheduler.sign(null, Buffer.from('x'), ed.publicKey));
      }
    });
  });
});
