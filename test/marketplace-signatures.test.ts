import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { apigSignature, canonicalRequest, signApigRequest, type ApigRequest } from '@licensor/client/contract';
import { verifyApigRequest } from '../src/domain/marketplace/apig-verification';
import { bodySignHeader, productionSignature, verifyProductionSignature } from '../src/domain/marketplace/production-signature';
import { formatMarketplaceTime, parseLooseMarketplaceTime, parseMarketplaceTime } from '../src/domain/marketplace/dates';
import { expectedBodySign, requestSignature } from './support/marketplace';

describe('marketplace request signing', () => {
  describe('the open API AK/SK scheme SDK-HMAC-SHA256 (§1.1)', () => {
    // The published test vector quoted in docs/marketplace.md §1.1.
    const vector: ApigRequest = {
      method: 'POST',
      path: '/api/mkp-openapi-public/global/v1/license/activate',
      query: '',
      headers: { 'content-type': 'application/json', host: 'mkt.myhuaweicloud.com', 'x-sdk-date': '20240317T144237Z', 'x-stage': 'RELEASE' },
      body: Buffer.alloc(0),
    };
    const signedHeaders = ['content-type', 'host', 'x-sdk-date', 'x-stage'];

    it('reproduces the published test vector', () => {
      assert.equal(apigSignature(vector, signedHeaders, '123', '20240317T144237Z'), '77595ad624b6e4e49990b8c4e84bf1c287457fca61069c4e60b9b6765b52053d');
    });

    it('builds the canonical request with a trailing slash on the URI and a blank line before the signed headers', () => {
      const emptyBodyHash = createHash('sha256').update('').digest('hex');
      assert.equal(
        canonicalRequest(vector, signedHeaders),
        [
          'POST',
          '/api/mkp-openapi-public/global/v1/license/activate/',
          '',
          'content-type:application/json\nhost:mkt.myhuaweicloud.com\nx-sdk-date:20240317T144237Z\nx-stage:RELEASE\n',
          'content-type;host;x-sdk-date;x-stage',
          emptyBodyHash,
        ].join('\n'),
      );
    });

    it('sorts and RFC 3986-encodes the query string', () => {
      const request = { ...vector, query: 'b=2&a=x%20y&c=' };
      assert.equal(canonicalRequest(request, signedHeaders).split('\n')[2], 'a=x%20y&b=2&c=');
    });

    it('verifies what it signs, and refuses a changed body, an unknown key and a date 15 minutes off', () => {
      const now = Date.UTC(2026, 0, 2, 3, 4, 5);
      const body = Buffer.from('{"license":"ABC"}');
      const base = { method: 'POST', path: '/api/mkp-openapi-public/global/v1/license/heartbeat', query: '', body };
      const headers = signApigRequest(
        { ...base, headers: { host: 'licensor.test:7300', 'content-type': 'application/json' } },
        { accessKey: 'AK1', secretKey: 'SK1' },
        now,
      );
      const sent = {
        ...base,
        headers: { host: 'licensor.test:7300', 'content-type': 'application/json', 'x-sdk-date': headers['X-Sdk-Date'], authorization: headers.Authorization },
      };
      const secrets = new Map([['AK1', 'SK1']]);
      assert.match(headers.Authorization!, /^SDK-HMAC-SHA256 Access=AK1, SignedHeaders=content-type;host;x-sdk-date, Signature=[0-9a-f]{64}$/);
      const signature = /Signature=([0-9a-f]{64})$/.exec(headers.Authorization!)![1];
      // The signature and its date come back, so the caller can refuse a replay of them.
      assert.deepEqual(verifyApigRequest(sent, secrets, now), { ok: true, accessKey: 'AK1', signature, signedAt: Math.floor(now / 1000) * 1000 });
      assert.equal(verifyApigRequest({ ...sent, body: Buffer.from('{"license":"ABD"}') }, secrets, now).ok, false);
      assert.equal(verifyApigRequest(sent, new Map([['AK2', 'SK1']]), now).ok, false);
      assert.equal(verifyApigRequest(sent, secrets, now + 15 * 60_000 + 1000).ok, false);
      assert.equal(verifyApigRequest(sent, secrets, now + 14 * 60_000).ok, true);
    });
  });

  describe('the production interface signature (§3.2)', () => {
    const body = Buffer.from('{"activity":"newInstance","orderId":"O1","orderLineId":"O1-000001","businessId":"B1"}');

    it('is hex(HMAC(accessKey, accessKey + nonce + timestamp + lower(hex(HMAC(accessKey, body)))))', () => {
      assert.equal(productionSignature('key-0001', 'n0nce', '1680508066618', body), requestSignature('key-0001', 'n0nce', '1680508066618', body));
    });

    it('accepts upper- and lower-case hex and names the key that signed, among several', () => {
      const signature = requestSignature('key-0002', 'n', '1', body);
      assert.equal(verifyProductionSignature(['key-0001', 'key-0002'], signature.toUpperCase(), 'n', '1', body), 'key-0002');
      assert.equal(verifyProductionSignature(['key-0001', 'key-0002'], signature, 'n', '1', body), 'key-0002');
    });

    it('refuses a signature over other bytes, another nonce or timestamp, and anything that is not 64 hex digits', () => {
      const signature = requestSignature('key-0001', 'n', '1', body);
      const reordered = Buffer.from(JSON.stringify({ orderId: 'O1', activity: 'newInstance', orderLineId: 'O1-000001', businessId: 'B1' }));
      assert.equal(verifyProductionSignature(['key-0001'], signature, 'n', '1', reordered), null);
      assert.equal(verifyProductionSignature(['key-0001'], signature, 'm', '1', body), null);
      assert.equal(verifyProductionSignature(['key-0001'], signature, 'n', '2', body), null);
      assert.equal(verifyProductionSignature(['key-0001'], signature.slice(1), 'n', '1', body), null);
      assert.equal(verifyProductionSignature([], signature, 'n', '1', body), null);
    });

    it('signs answers with Body-Sign exactly as §3.4 shows, over every byte', () => {
      const answer = Buffer.from(' {"resultCode":"000000","resultMsg":"success."}\t');
      assert.equal(bodySignHeader('key-0001', answer), expectedBodySign('key-0001', answer));
      assert.match(bodySignHeader('key-0001', answer), /^sign_type="HMAC-SHA256", signature="[A-Za-z0-9+/]+=*"$/);
    });
  });

  describe('marketplace dates', () => {
    it('reads yyyyMMddHHmmss as UTC', () => {
      assert.equal(parseMarketplaceTime('20261231235959'), Date.UTC(2026, 11, 31, 23, 59, 59));
    });

    it('reads the 17-digit form with milliseconds, as in the refreshInstance example', () => {
      assert.equal(parseMarketplaceTime('20221124023618256'), Date.UTC(2022, 10, 24, 2, 36, 18, 256));
    });

    it('reads getLicenseAsync\'s "2023-10-27 10:30:15 z" form only where asked to', () => {
      assert.equal(parseLooseMarketplaceTime('2023-10-27 10:30:15 z'), Date.UTC(2023, 9, 27, 10, 30, 15));
      assert.equal(parseLooseMarketplaceTime('20231027103015'), Date.UTC(2023, 9, 27, 10, 30, 15));
      assert.equal(parseMarketplaceTime('2023-10-27 10:30:15 z'), null);
    });

    it('refuses dates that do not exist and other lengths', () => {
      for (const bad of ['20240230120000', '20241301000000', '20240101246000', '2024010112000', '202401011200000', 'abcdefghijklmn', '']) {
        assert.equal(parseMarketplaceTime(bad), null, bad);
      }
    });

    it('writes yyyyMMddHHmmss in UTC', () => {
      assert.equal(formatMarketplaceTime(Date.UTC(2026, 1, 3, 4, 5, 6, 789)), '20260203040506');
    });
  });
});
