import { strict as assert } from 'node:assert';
import { heartbeatAnswerJson, heartbeatAnswerView } from '../src/http/heartbeat/heartbeat-answer';
import type { CodeStatus, LicenseCode, Product } from '../src/domain/types';
import { codeRecord as aCode, productRecord as aProduct } from './support/factories';

const TOKEN = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl-_';

/** The text the route sends, against what serialising the answer's view makes. */
function assertSameAnswer(answer: { status: CodeStatus; token: string | null; code: LicenseCode; product: Product }) {
  const text = heartbeatAnswerJson(answer);
  assert.equal(text, JSON.stringify(heartbeatAnswerView(answer)));
  assert.deepEqual(JSON.parse(text), heartbeatAnswerView(answer));
}

describe("a heartbeat answer's text", () => {
  it('is exactly the JSON of the answer: a token, the license, no update notice', () => {
    assertSameAnswer({ status: 'alive', token: TOKEN, code: aCode(), product: aProduct() });
  });

  it('says null for the token of a license that is no longer usable', () => {
    assertSameAnswer({ status: 'expired', token: null, code: aCode({ status: 'expired' }), product: aProduct() });
  });

  it("carries the product's update notice", () => {
    assertSameAnswer({ status: 'alive', token: TOKEN, code: aCode(), product: aProduct({ latestVersion: '2.1.0', minimumVersion: '2.0.0' }) });
  });

  it('escapes what JSON must in the license: features and product names as typed', () => {
    assertSameAnswer({
      status: 'alive',
      token: TOKEN,
      code: aCode({ features: ['say "hi"', 'back\\slash', 'line\nbreak', 'ünï'] }),
      product: aProduct({ name: 'a "b"' }),
    });
  });

  it('follows the same code object through a change of status (a code that expires while its view is cached)', () => {
    const code = aCode();
    const product = aProduct();
    assertSameAnswer({ status: 'alive', token: TOKEN, code, product });
    assertSameAnswer({ status: 'expired', token: null, code, product });
    assertSameAnswer({ status: 'alive', token: TOKEN, code, product });
  });

  it('follows a code to a new product object (a product changed and read afresh) and to a changed code', () => {
    const code = aCode();
    assertSameAnswer({ status: 'alive', token: TOKEN, code, product: aProduct() });
    assertSameAnswer({ status: 'alive', token: TOKEN, code, product: aProduct({ latestVersion: '3.0.0', leaseSeconds: 3600 }) });
    assertSameAnswer({ status: 'alive', token: TOKEN, code: { ...code, seats: 9, expiresAt: code.expiresAt + 60 * 86_400_000 }, product: aProduct() });
  });
});
