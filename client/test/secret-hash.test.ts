import { strict as assert } from 'node:assert';
import { hashSecret } from '../src/contract/lease-claims';

describe("an activation secret's hash (the wire contract a covering token carries)", () => {
  it('is the SHA-256 of the secret as UTF-8, in lower-case hex', () => {
    // FIPS 180-2's test vector, and a secret outside ASCII: the server and every client version must agree.
    assert.equal(hashSecret('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(hashSecret('é'), '4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c');
  });
});
