import { strict as assert } from 'node:assert';
import { generateKeyPairSync, verify } from 'node:crypto';
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

  describe('told how many requests the server is answering', () => {
    /** Whether a signature arrived before the end of the loop turn it was asked in. */
    async function signedWithinTheTurn(scheduler: SignatureScheduler): Promise<boolean> {
      let turnEnded = false;
      setImmediate(() => (turnEnded = true));
      const data = Buffer.from('beat');
      const signature = await scheduler.sign(null, data, ed.privateKey);
      assert.ok(verify(null, data, ed.publicKey, signature));
      return !turnEnded;
    }

    it('signs the only request in flight at once, without waiting for the loop turn to end', async () => {
      const scheduler = new SignatureScheduler();
      scheduler.countRequestsWith(() => 1);
      assert.equal(await signedWithinTheTurn(scheduler), true);
    });

    it('waits for the end of the turn when other requests are in flight, to sign the overlapping ones together', async () => {
      const scheduler = new SignatureScheduler();
      scheduler.countRequestsWith(() => 3);
      assert.equal(await signedWithinTheTurn(scheduler), false);
    });

    it('waits for the end of the turn when nobody counts (the CLI, tests)', async () => {
      assert.equal(await signedWithinTheTurn(new SignatureScheduler()), false);
    });

    it('rejects a key that cannot sign on the immediate path too', async () => {
      const scheduler = new SignatureScheduler();
      scheduler.countRequestsWith(() => 1);
      await assert.rejects(scheduler.sign(null, Buffer.from('x'), ed.publicKey));
    });
  });
});
