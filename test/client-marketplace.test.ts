import { strict as assert } from 'node:assert';
import { LicenseClientError, marketplaceHeartbeat } from '@licensor/client';
import { signSdkHmacSha256 } from '@licensor/client/contract';
import { startTestServer, type TestServer } from './support/harness';
import { admin } from './support/http';
import { issueCode } from './support/license-clients';

describe('the marketplace-style heartbeat helper', () => {
  describe('AK/SK request signing (SDK-HMAC-SHA256)', () => {
    it('reproduces the published test vector (docs/marketplace.md §1.1)', () => {
      const headers = signSdkHmacSha256(
        {
          method: 'POST',
          url: new URL('https://mkt.myhuaweicloud.com/api/mkp-openapi-public/global/v1/license/activate'),
          headers: { 'Content-Type': 'application/json', 'x-stage': 'RELEASE' },
          body: '',
          now: Date.UTC(2024, 2, 17, 14, 42, 37),
        },
        { accessKey: 'AK', secretKey: '123' },
      );
      assert.equal(headers['X-Sdk-Date'], '20240317T144237Z');
      assert.equal(
        headers.Authorization,
        'SDK-HMAC-SHA256 Access=AK, SignedHeaders=content-type;host;x-sdk-date;x-stage, ' +
          'Signature=77595ad624b6e4e49990b8c4e84bf1c287457fca61069c4e60b9b6765b52053d',
      );
    });
  });

  describe("against licensor's marketplace-compatible open API", () => {
    let server: TestServer;
    const product = 'client-marketplace';
    const credentials = { accessKey: 'client-test-ak', secretKey: 'client-test-sk' };

    before(async () => {
      server = await startTestServer('sqlite', { LICENSOR_OPENAPI_AKSK: `${credentials.accessKey}:${credentials.secretKey}` });
      await admin(server.url, 'POST', '/v1/admin/products', { name: product });
    });
    after(async () => server?.close());

    const beat = (license: string, extra: Partial<Parameters<typeof marketplaceHeartbeat>[0]> = {}) =>
      marketplaceHeartbeat({ baseUrl: server.url, license, credentials, clock: () => server.clock.now(), ...extra });

    it('maps ALIVE to valid, with the expiry', async () => {
      const code = await issueCode(server, product, 1, 30);
      const result = await beat(code, { heartbeatInfo: { thirdPartyAccount: 'user-1' } });
      assert.equal(result.valid, true, JSON.stringify(result));
      assert.equal(result.status, 'ALIVE');
      assert.equal(result.reason, null);
      assert.equal(result.errorCode, '92020000');
      const shown = await admin(server.url, 'GET', `/v1/admin/codes/${code}`);
      assert.equal(result.expiresAt!.getTime(), Math.floor(Date.parse(shown.body.code.expiresAt) / 1000) * 1000);
    });

    it('maps EXPIRED (a frozen code) and RELEASED to invalid with their reasons', async () => {
      const code = await issueCode(server, product, 1, 30);
      await admin(server.url, 'POST', `/v1/admin/codes/${code}/freeze`);
      const frozen = await beat(code);
      assert.deepEqual([frozen.valid, frozen.status, frozen.reason], [false, 'EXPIRED', 'expired']);
      await admin(server.url, 'POST', `/v1/admin/codes/${code}/release`);
      const released = await beat(code);
      assert.deepEqual([released.valid, released.status, released.reason], [false, 'RELEASED', 'released']);
    });

    it('maps an unknown code to no_license and a wrong secret key to unauthorized', async () => {
      const unknown = await beat('ABCDE-FGHJK-MNPQR-STVWX-YZ234');
      assert.deepEqual([unknown.valid, unknown.reason, unknown.errorCode], [false, 'no_license', '92020005']);
      const code = await issueCode(server, product, 1, 30);
      const forged = await beat(code, { credentials: { ...credentials, secretKey: 'not-the-secret' } });
      assert.deepEqual([forged.valid, forged.reason, forged.errorCode], [false, 'unauthorized', '92020001']);
    });

    it('falls back to the next host while one cannot be reached, and throws when none can', async () => {
      const code = await issueCode(server, product, 1, 30);
      const result = await beat(code, { baseUrl: ['http://127.0.0.1:9', server.url] });
      assert.equal(result.valid, true);
      await assert.rejects(beat(code, { baseUrl: ['http://127.0.0.1:9'] }), (err: LicenseClientError) => err.code === 'server_unreachable');
    });
  });
});
