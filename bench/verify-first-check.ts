/**
 * Child process of bench/verify.ts: the first `check()` after process start. It imports nothing
 * before the clock starts, so nothing the measured path needs is warm.
 *
 *   node dist/bench/verify-first-check.js '{"storeDir":…,"root":…,"jwk":…,"product":…,"fingerprintKey":…}'
 */
const started = performance.now();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded inside the measurement on purpose
const client = require('@licensor/client') as typeof import('@licensor/client');
const loaded = performance.now();
const setup = JSON.parse(process.argv[2]!) as {
  storeDir: string;
  root: string;
  jwk: import('node:crypto').JsonWebKey;
  product: string;
  fingerprintKey: string;
};
const licenseClient = new client.LicenseClient({
  product: setup.product,
  storeDir: setup.storeDir,
  fingerprintKey: setup.fingerprintKey,
  publicKeys: [setup.jwk],
  fingerprintSource: () => client.collectSync({ root: setup.root }),
});
const constructed = performance.now();
const first = licenseClient.check();
const afterFirst = performance.now();
const second = licenseClient.check();
const afterSecond = performance.now();
process.stdout.write(
  JSON.stringify({
    valid: first.valid && second.valid,
    requireMs: loaded - started,
    constructMs: constructed - loaded,
    firstCheckMs: afterFirst - constructed,
    secondCheckMs: afterSecond - afterFirst,
    sinceProcessStartMs: afterFirst,
  }),
);
