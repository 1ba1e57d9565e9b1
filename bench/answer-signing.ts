/**
 * What signing client-API answers costs per heartbeat, in process (docs/server.md "Signed
 * answers"): the lease token the heartbeat always signed, the same token carrying the client's
 * nonce (what a heartbeat costs now), and that token plus a second signature over the answer
 * body (what it would cost if every answer were body-signed). Then the heartbeat's proof of
 * possession (docs/security.md): the activation's secret, hashed and compared, against a lease
 * token verified as proof, both against the one signature a beat makes anyway. Prints figures;
 * never fails on time.
 *
 *   npx tsc -p . && node dist/bench/answer-signing.js
 */
import { answerSigningInput, requestDigest } from '@licensor/client/contract';
import { requireHolder, hashSecret } from '../src/domain/activation-proof';
import { buildLeaseClaims } from '../src/domain/lease-token';
import type { LicenseCode, Product } from '../src/domain/types';
import { KeyRing } from '../src/tokens/key-ring';
import { generateSigningKey } from '../src/tokens/key-material';
import { benchFingerprint } from './seed';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20_000);

async function main() {
  const now = Date.now();
  const ring = new KeyRing([await generateSigningKey('EdDSA', 1, now)]);
  const product: Product = {
    id: 'p',
    name: 'bench',
    seatMode: 'node_locked',
    leaseSeconds: 604_800,
    heartbeatIntervalSeconds: 201_600,
    matchStrategy: 'fuzzy',
    reclaim: 'eager',
    churnLimit: null,
    churnPeriodSeconds: 86_400,
    fingerprintChangeWindowSeconds: 2_592_000,
    containers: 'refuse',
    latestVersion: null,
    minimumVersion: null,
    createdAt: now,
  };
  const code: LicenseCode = {
    id: '01900000-0000-7000-8000-000000000000',
    productId: 'p',
    code: 'X',
    status: 'alive',
    seats: 1,
    maxConcurrent: null,
    features: [],
    expiresAt: now + 30 * 86_400_000,
    firstActivatedAt: now,
    metadata: {},
    test: false,
    createdAt: now,
    updatedAt: now,
  };
  const fingerprint = benchFingerprint('bench');
  const requestBody = Buffer.from(JSON.stringify({ activationId: code.id, fingerprint }));
  const claims = (nonce: string | null) =>
    buildLeaseClaims({ issuer: 'licensor', jti: code.id, product, code, status: 'alive', activationId: code.id, fingerprint, now, nonce });

  // One signature at a time, awaited: the lone-request path, signed inline (src/tokens/signature-scheduler.ts).
  const time = async (label: string, run: () => Promise<unknown>) => {
    for (let i = 0; i < 2000; i++) await run();
    const start = process.hrtime.bigint();
    for (let i = 0; i < ROUNDS; i++) await run();
    const us = Number(process.hrtime.bigint() - start) / ROUNDS / 1000;
    console.log(`${label.padEnd(58)} ${us.toFixed(1).padStart(7)} µs`);
    return us;
  };

  console.log(`answer signing, ${ROUNDS} rounds, node ${process.version}`);
  const before = await time('token only (the heartbeat before signed answers)', () => ring.sign(claims(null)));
  const now1 = await time('token carrying the nonce (the heartbeat now)', () => ring.sign(claims('bench-nonce-0123456789')));
  const both = await time('token + body signature (every answer body-signed)', async () => {
    const token = await ring.sign(claims('bench-nonce-0123456789'));
    const body = Buffer.from(JSON.stringify({ status: 'alive', token, license: { status: 'alive' } }));
    await ring.signAnswer(
      answerSigningInput(
        { nonce: 'bench-nonce-0123456789', method: 'POST', target: '/v1/heartbeat', requestDigest: requestDigest(requestBody), status: 200 },
        body,
      ),
    );
  });
  console.log(`nonce claim: +${(now1 - before).toFixed(1)} µs per beat; a body signature would add ${(both - now1).toFixed(1)} µs more`);

  const secret = 'c2VjcmV0LW9mLXRoZS1iZW5jaC1hY3RpdmF0aW9uLTAx';
  const activation = { id: code.id, secretHash: hashSecret(secret) };
  const token = await ring.sign(claims(null));
  const bySecret = await time('proof of possession: the secret, hashed and compared', async () => requireHolder({ tokens: ring }, activation, { secret }));
  const byToken = await time('proof of possession: a lease token, verified', async () => requireHolder({ tokens: ring }, activation, { token }));
  console.log(
    `proof by secret: ${((bySecret / now1) * 100).toFixed(1)} % of the beat's one signature; by token: ${((byToken / now1) * 100).toFixed(0)} % (why stores with a secret never send the token)`,
  );
}

void main();
