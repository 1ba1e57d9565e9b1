/**
 * The cost of `check()` (client/src/offline-verify.ts) against a bare `crypto.verify` of the same
 * token, in the same run, and the time of the first `check()` in a fresh process.
 * Prints figures; never passes or fails on time.
 *
 *   node dist/bench/verify.js
 *
 * The token is a real lease token signed by the server's KeyRing; the machine is the
 * nvme-bare-metal fixture read by the real addon. The first check runs in
 * bench/verify-first-check.ts, a fresh process that has loaded nothing before it.
 */
import { execFileSync } from 'node:child_process';
import { verify, type JsonWebKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectSync, LicenseClient } from '@licensor/client';
import { hashFingerprint, KeySet, matchFingerprint, parseLeaseClaims, verifyCompactJws, type LeaseClaims } from '@licensor/client/contract';
import { KeyRing } from '../src/tokens/key-ring';
import { generateSigningKey } from '../src/tokens/key-material';
import { materializeMachine } from '../test/native/helpers/machines';

const PRODUCT = 'bench-product';
const FINGERPRINT_KEY = 'bench-fingerprint-key';
const ROUNDS = 7;
const ROUND_MS = 300;

function opsPerSecond(work: () => unknown): number {
  let n = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(ROUND_MS) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 64; i++) work();
    n += 64;
    elapsed = process.hrtime.bigint() - start;
  }
  return n / (Number(elapsed) / 1e9);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(12);

async function main(): Promise<void> {
  const machine = materializeMachine('nvme-bare-metal');
  const storeDir = mkdtempSync(join(tmpdir(), 'licensor-bench-verify-'));
  try {
    // A real lease token in the server's format, signed by the server's KeyRing.
    const now = Date.now();
    const key = await generateSigningKey('EdDSA', 1, now);
    const ring = new KeyRing([key]);
    const hashes = hashFingerprint(collectSync({ root: machine.root }), FINGERPRINT_KEY);
    const iat = Math.floor(now / 1000);
    const claims: LeaseClaims = {
      iss: 'licensor',
      aud: PRODUCT,
      sub: 'code-id',
      jti: 'bench',
      iat,
      nbf: iat,
      exp: iat + 7 * 86_400,
      license: { status: 'alive', expiresAt: iat + 365 * 86_400, seats: 5, features: ['pro', 'export'], seatMode: 'node_locked' },
      activation: { id: '00000000-0000-4000-8000-000000000000', fingerprint: hashes },
      heartbeat: { intervalSeconds: 201_600 },
    };
    const token = await ring.sign(claims);
    const jwk = key.publicJwk as JsonWebKey;

    const client = new LicenseClient({
      product: PRODUCT,
      storeDir,
      fingerprintKey: FINGERPRINT_KEY,
      publicKeys: [jwk],
      fingerprintSource: () => collectSync({ root: machine.root }),
    });
    const file = {
      format: 'licensor-license-file',
      v: 1,
      product: PRODUCT,
      activationId: claims.activation.id,
      token,
      leaseEndsAt: '',
      licenseExpiresAt: '',
      issuedAt: '',
    };
    const imported = await client.importLicenseFile({ contents: JSON.stringify(file) });
    if (!imported.valid) throw new Error(`the bench token does not check valid: ${JSON.stringify(imported)}`);

    // Bare: the signature check alone, on buffers prepared once (the tightest baseline).
    const dot = token.lastIndexOf('.');
    const signingInput = Buffer.from(token.slice(0, dot));
    const signature = Buffer.from(token.slice(dot + 1), 'base64url');
    const keySet = new KeySet([jwk]);
    const publicKey = keySet.get(key.kid)!.key;
    const bare = () => verify(null, signingInput, publicKey, signature);

    // check() when its per-token cache misses: parsing, signature, claims, fingerprint match,
    // then the time checks — the contract's steps check() runs for a token it has not seen.
    const algorithms: ReadonlySet<'EdDSA'> = new Set(['EdDSA']);
    const uncached = () => {
      const jws = verifyCompactJws(token, algorithms, (header) => (header.kid === undefined ? undefined : keySet.get(header.kid)));
      if (!jws.ok) return { valid: false };
      const lease = parseLeaseClaims(jws.payload);
      if (lease === null || lease.iss !== 'licensor' || lease.aud !== PRODUCT) return { valid: false };
      const now = Date.now() / 1000;
      return { valid: matchFingerprint(lease.activation.fingerprint, hashes, 'fuzzy').accepted && now >= lease.nbf && now < lease.exp };
    };
    const cached = () => client.check();
    if (!uncached().valid || !cached().valid || !bare()) throw new Error('a measured path does not verify');

    const figures = { bare: [] as number[], uncached: [] as number[], cached: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      figures.bare.push(opsPerSecond(bare));
      figures.uncached.push(opsPerSecond(uncached));
      figures.cached.push(opsPerSecond(cached));
    }
    const bareOps = median(figures.bare);
    const uncachedOps = median(figures.uncached);
    const cachedOps = median(figures.cached);

    const firsts: Array<{ valid: boolean; firstCheckMs: number; secondCheckMs: number; requireMs: number; constructMs: number; sinceProcessStartMs: number }> =
      [];
    const setup = JSON.stringify({ storeDir, root: machine.root, jwk, product: PRODUCT, fingerprintKey: FINGERPRINT_KEY });
    for (let i = 0; i < 9; i++) {
      firsts.push(JSON.parse(execFileSync(process.execPath, [join(__dirname, 'verify-first-check.js'), setup], { encoding: 'utf8' })));
    }
    const first = median(firsts.map((f) => f.firstCheckMs));

    console.log(`licensor client check() vs bare crypto.verify (Ed25519), node ${process.version}, median of ${ROUNDS} rounds of ${ROUND_MS} ms`);
    console.log('');
    console.log(`  bare crypto.verify (same token)      ${fmt(bareOps)} ops/s   1.00x`);
    console.log(
      `  check(), token not yet verified       ${fmt(uncachedOps)} ops/s   ${(uncachedOps / bareOps).toFixed(2)}x   (parse + verify + claims + fingerprint match)`,
    );
    console.log(`  check(), repeated (steady state)      ${fmt(cachedOps)} ops/s   ${(cachedOps / bareOps).toFixed(2)}x   (time checks only)`);
    console.log('');
    const med = (pick: (f: (typeof firsts)[number]) => number, digits = 2) => median(firsts.map(pick)).toFixed(digits);
    console.log(
      `  first check() in a fresh process (${firsts.length} runs): median ${first.toFixed(2)} ms, min ${Math.min(...firsts.map((f) => f.firstCheckMs)).toFixed(2)} ms, max ${Math.max(...firsts.map((f) => f.firstCheckMs)).toFixed(2)} ms`,
    );
    console.log(`    = reading the store and clock files, loading the native addon, collecting + hashing the fingerprint, one verify`);
    console.log(
      `    before it (medians): require('licensor/client') ${med((f) => f.requireMs)} ms, new LicenseClient() ${med((f) => f.constructMs)} ms (key import)`,
    );
    console.log(
      `    second check(): median ${med((f) => f.secondCheckMs, 3)} ms; process start → first answer: median ${med((f) => f.sinceProcessStartMs, 1)} ms`,
    );
    if (!firsts.every((f) => f.valid)) console.log('  WARNING: a fresh-process check() was not valid');
    console.log('');
    console.log('Targets (issue 5): repeated check() >= 0.8x bare verify; first check() <= 5 ms. Figures only; nothing fails on time.');
  } finally {
    rmSync(storeDir, { recursive: true, force: true });
    machine.remove();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
