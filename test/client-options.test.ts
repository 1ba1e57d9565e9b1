import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import { MATCH_STRATEGIES } from '@licensor/client/contract';
import { LicenseClient, type LicenseClientOptions } from '@licensor/client';
import { FINGERPRINT_KEY } from './support/license-clients';

/**
 * Options a programmer gets wrong are refused by the constructor, at start-up, with a TypeError
 * naming the option; never later as a network failure, a refused token, or a check() that throws.
 */
describe('constructing a LicenseClient', () => {
  const ed25519 = generateKeyPairSync('ed25519');
  const publicJwk = ed25519.publicKey.export({ format: 'jwk' });
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // Never touched: the constructor reads and writes nothing.
  const storeDir = '/nonexistent/licensor-client-options';
  const valid: LicenseClientOptions = { product: 'options-product', storeDir, fingerprintKey: FINGERPRINT_KEY, publicKeys: ed25519.publicKey };

  /** The TypeError the constructor throws for the valid options with `change` applied. */
  function refusal(change: Record<string, unknown>): TypeError {
    try {
      new LicenseClient({ ...valid, ...change } as LicenseClientOptions);
    } catch (err) {
      assert.ok(err instanceof TypeError, `expected a TypeError, got ${String(err)}`);
      assert.match(err.message, /^licensor: /);
      return err;
    }
    assert.fail(`accepted ${JSON.stringify(change)}`);
  }

  function refuses(change: Record<string, unknown>, message: RegExp): void {
    assert.match(refusal(change).message, message, JSON.stringify(change));
  }

  it('accepts a product, a store directory, a fingerprint key and one pinned key, and starts unlicensed', () => {
    assert.equal(new LicenseClient(valid).check().reason, 'no_license');
  });

  it('refuses to start without an options object', () => {
    assert.throws(() => new LicenseClient(undefined as never), { name: 'TypeError', message: /LicenseClient needs an options object/ });
  });

  describe('what the client is', () => {
    it('refuses a product that is not a product name', () => {
      for (const product of ['', 'my product', '-leading-dash', 'x'.repeat(101), 42, undefined]) {
        refuses({ product }, /options\.product must be the product name/);
      }
    });

    it('refuses a missing or empty storeDir', () => {
      for (const dir of ['', undefined, 7]) refuses({ storeDir: dir }, /options\.storeDir is required/);
    });

    it('refuses a fingerprintKey that is empty or neither a string nor a Buffer', () => {
      for (const fingerprintKey of ['', Buffer.alloc(0), 42, undefined]) {
        refuses({ fingerprintKey }, /options\.fingerprintKey must be a non-empty string or Buffer/);
      }
    });

    it('refuses a version that is not a version number', () => {
      for (const version of ['two', '', 'v2.1.0']) refuses({ version }, /options\.version must be a version such as 2\.1\.0/);
    });

    it('refuses a matchStrategy the server does not have, and accepts each one it has', () => {
      for (const matchStrategy of ['strict', '', 'FUZZY']) {
        refuses({ matchStrategy }, /options\.matchStrategy must be one of "exact", "fuzzy", "loose"/);
      }
      for (const matchStrategy of MATCH_STRATEGIES) assert.equal(new LicenseClient({ ...valid, matchStrategy }).check().reason, 'no_license');
    });
  });

  describe('the server', () => {
    it('refuses a serverUrl or jwksUrl that is not an http(s) URL', () => {
      for (const url of ['license.example.com', 'ftp://license.example.com', '', 'not a url', 42]) {
        refuses({ serverUrl: url }, /options\.serverUrl must be an http:\/\/ or https:\/\/ URL/);
        refuses({ jwksUrl: url }, /options\.jwksUrl must be an http:\/\/ or https:\/\/ URL/);
      }
    });

    it('accepts http and https URLs', () => {
      for (const url of ['http://127.0.0.1:8080', 'https://license.example.com/licensing/', 'HTTPS://LICENSE.EXAMPLE.COM']) {
        assert.doesNotThrow(() => new LicenseClient({ ...valid, serverUrl: url, jwksUrl: `${url}/.well-known/jwks.json` }));
      }
    });

    it('refuses a requestTimeoutMs that is not a whole number of milliseconds above 0', () => {
      for (const requestTimeoutMs of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '1000']) {
        refuses({ requestTimeoutMs }, /options\.requestTimeoutMs must be a whole number of milliseconds from 1 to 2147483647/);
      }
    });

    it('refuses a clockToleranceSeconds below 0, above a day, or not a number', () => {
      for (const clockToleranceSeconds of [-1, 86_401, Number.NaN, Number.POSITIVE_INFINITY]) {
        refuses({ clockToleranceSeconds }, /options\.clockToleranceSeconds must be 0–86400/);
      }
    });
  });

  describe('the keys it trusts', () => {
    it('refuses no pinned key, even with a jwksUrl: trust starts at a key the application ships', () => {
      for (const publicKeys of [undefined, [], { keys: [] }, [{ keys: [] }]]) {
        refuses({ publicKeys }, /options\.publicKeys must pin at least one key/);
        refuses({ publicKeys, jwksUrl: 'https://license.example.com/.well-known/jwks.json' }, /options\.publicKeys must pin at least one key/);
      }
    });

    it('refuses a key that does not import, naming which key it is', () => {
      const garbledPem = '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n';
      const err = refusal({ publicKeys: garbledPem });
      assert.match(err.message, /^licensor: options\.publicKeys is not a usable public key: /);
      assert.ok(err.cause instanceof Error, 'the import error is kept as the cause');
      refuses({ publicKeys: [ed25519.publicKey, garbledPem] }, /options\.publicKeys\[1\] is not a usable public key/);
      refuses({ publicKeys: { keys: [publicJwk, { kty: 'OKP', crv: 'Ed25519', x: 'short' }] } }, /options\.publicKeys\.keys\[1\] is not a usable public key/);
      refuses({ publicKeys: [publicJwk, { keys: [42] }] }, /options\.publicKeys\[1\]\.keys\[0\] is not a usable public key/);
    });

    it('refuses a private key, as a KeyObject or as a JWK with its private part', () => {
      refuses({ publicKeys: ed25519.privateKey }, /options\.publicKeys is not a usable public key: pin public keys only, never a private key/);
      const privateJwk = ed25519.privateKey.export({ format: 'jwk' });
      refuses(
        { publicKeys: { keys: [privateJwk] } },
        /options\.publicKeys\.keys\[0\] is not a usable public key: pin public keys only \(this JWK has a private part "d"\)/,
      );
    });

    it('refuses a key type other than Ed25519 and P-256', () => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
      refuses({ publicKeys: rsa }, /unsupported public key type rsa \(Ed25519 or P-256 only\)/);
      refuses({ publicKeys: [ed25519.publicKey, p384] }, /options\.publicKeys\[1\] is not a usable public key: unsupported public key type ec/);
    });

    it('refuses a JWK whose declared alg is not the alg of the key it holds', () => {
      refuses({ publicKeys: { ...publicJwk, alg: 'ES256' } }, /the JWK says alg ES256 but holds a key for EdDSA/);
    });

    it('refuses algorithms other than EdDSA and ES256, and an empty list', () => {
      for (const algorithms of [[], ['HS256'], ['none'], ['EdDSA', 'RS256'], 'EdDSA']) {
        refuses({ algorithms }, /options\.algorithms may hold only "EdDSA" and "ES256"/);
      }
    });

    it('accepts keys as a KeyObject, a JWK, a JWK Set and SPKI PEM, for EdDSA and ES256', () => {
      const pem = p256.publicKey.export({ type: 'spki', format: 'pem' }) as string;
      const client = new LicenseClient({ ...valid, publicKeys: [ed25519.publicKey, publicJwk, { keys: [publicJwk] }, pem], algorithms: ['EdDSA', 'ES256'] });
      assert.equal(client.check().reason, 'no_license');
    });
  });
});
