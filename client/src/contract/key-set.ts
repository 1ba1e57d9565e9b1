/**
 * The public keys a client trusts, imported once into KeyObjects and looked up by `kid`: the
 * pinned keys the application ships, and keys endorsed through a chain that starts at one of them
 * (client/src/contract/key-endorsement.ts; docs/security.md "Keys and rotation"). Nothing else adds a key.
 */
import { createHash, createPublicKey, verify, type JsonWebKey, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto';

export type JwsAlgorithm = 'EdDSA' | 'ES256';

/** A verification key and the one algorithm it is used with. */
export interface JwsKey {
  alg: JwsAlgorithm;
  key: KeyObject;
}

/** A public key as a JWK, a JWK Set, a PEM string (SPKI) or a KeyObject. */
export type PublicKeyInput = JsonWebKey | { keys: JsonWebKey[]; endorsements?: string[] } | string | KeyObject;

export interface TrustedKey extends Readonly<JwsKey> {
  readonly kid: string;
  /** Shipped with the application (true) or endorsed by a trusted key (false). */
  readonly pinned: boolean;
  /** The public JWK. */
  readonly jwk: JsonWebKey;
}

function b64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/** RFC 7638 thumbprint: what the server uses as `kid`, so PEM-pinned keys find their tokens. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  const members = jwk.kty === 'OKP' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return b64url(createHash('sha256').update(JSON.stringify(members)).digest());
}

function algorithmOf(key: KeyObject): JwsAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new TypeError(`licensor: unsupported public key type ${key.asymmetricKeyType ?? key.type} (Ed25519 or P-256 only)`);
}

/** Imports one key; a bad key is a programming error at construction, so this throws. */
export function importPublicKey(input: JsonWebKey | string | KeyObject, pinned: boolean): TrustedKey {
  let key: KeyObject;
  let declared: { kid?: unknown; alg?: unknown } = {};
  if (typeof input === 'string') {
    key = createPublicKey(input);
  } else if (typeof (input as KeyObject).export === 'function' && (input as KeyObject).type !== undefined) {
    key = input as KeyObject;
    if (key.type !== 'public') throw new TypeError('licensor: pin public keys only, never a private key');
  } else {
    const jwk = input as JsonWebKey;
    if (jwk.d !== undefined) throw new TypeError('licensor: pin public keys only (this JWK has a private part "d")');
    declared = jwk as { kid?: unknown; alg?: unknown };
    key = createPublicKey({ key: jwk, format: 'jwk' });
  }
  const alg = algorithmOf(key);
  if (declared.alg !== undefined && declared.alg !== alg) {
    throw new TypeError(`licensor: the JWK says alg ${String(declared.alg)} but holds a key for ${alg}`);
  }
  const exported = key.export({ format: 'jwk' });
  const jwk: JsonWebKey = { kty: exported.kty, crv: exported.crv, x: exported.x, ...(exported.y ? { y: exported.y } : {}) };
  const kid = typeof declared.kid === 'string' && declared.kid !== '' ? declared.kid : jwkThumbprint(jwk);
  return Object.freeze({ kid, alg, key, pinned, jwk: Object.freeze({ ...jwk, kid, alg, use: 'sig' }) });
}

function isKeySet(input: PublicKeyInput): input is { keys: JsonWebKey[] } {
  return typeof input === 'object' && input !== null && Array.isArray((input as { keys?: unknown }).keys);
}

/** Every single key of the `publicKeys` option, named the way the option spells it (`publicKeys[1].keys[0]`). */
function flatten(pinned: PublicKeyInput | readonly PublicKeyInput[]): Array<{ name: string; input: JsonWebKey | string | KeyObject }> {
  const inputs: Array<{ name: string; input: PublicKeyInput }> = Array.isArray(pinned)
    ? pinned.map((input, i) => ({ name: `options.publicKeys[${i}]`, input }))
    : [{ name: 'options.publicKeys', input: pinned as PublicKeyInput }];
  return inputs.flatMap(({ name, input }) =>
    isKeySet(input) ? input.keys.map((key, j) => ({ name: `${name}.keys[${j}]`, input: key })) : [{ name, input: input as JsonWebKey | string | KeyObject }],
  );
}

export class KeySet {
  private readonly byKid = new Map<string, TrustedKey>();

  /** Imports the pinned keys (the `publicKeys` option); throws a TypeError naming the first key that is unusable. */
  constructor(pinned: PublicKeyInput | readonly PublicKeyInput[]) {
    for (const { name, input } of flatten(pinned)) {
      let key: TrustedKey;
      try {
        key = importPublicKey(input, true);
      } catch (cause) {
        const reason = (cause instanceof Error ? cause.message : String(cause)).replace(/^licensor: /, '');
        throw new TypeError(`licensor: ${name} is not a usable public key: ${reason}`, { cause });
      }
      this.add(key);
    }
  }

  get(kid: string): TrustedKey | undefined {
    return this.byKid.get(kid);
  }

  get size(): number {
    return this.byKid.size;
  }

  /** An endorsed key never replaces a trusted key with the same kid. */
  add(key: TrustedKey): boolean {
    if (this.byKid.has(key.kid)) return false;
    this.byKid.set(key.kid, key);
    return true;
  }
}

// Ed25519 signatures and ES256 signatures in IEEE P1363 form are both 64 bytes.
const SIGNATURE_BYTES = 64;

export type SignatureFailure = 'alg_not_allowed' | 'unknown_key' | 'malformed_signature' | 'bad_signature';

/**
 * The one signature check of the client, for lease tokens (offline-verify.ts) and signed answers
 * (answer-signature.ts): `alg` is what the message claims, `key` the trusted key it names (looked
 * up by the caller; undefined when there is none), `signature` base64url. The allow-list comes
 * first (never `none`, never HS*: a symmetric alg would let anyone holding the public key sign),
 * and the key decides the algorithm, never the message. Null when the signature holds; never throws.
 */
export function verifySignature(
  algorithms: ReadonlySet<string>,
  alg: string,
  key: JwsKey | undefined,
  input: Buffer,
  signature: string,
): SignatureFailure | null {
  const checked = signatureToVerify(algorithms, alg, key, signature);
  if (typeof checked === 'string') return checked;
  return verifies(checked, input) ? null : 'bad_signature';
}

/** The cryptographic check of a signature that passed signatureToVerify; false for any failure. */
export function verifies(signature: SignatureToVerify, input: Buffer): boolean {
  const [algorithm, key] = cryptoArguments(signature.key);
  try {
    return verify(algorithm, input, key, signature.bytes);
  } catch {
    return false;
  }
}

/** A signature that passed every check of verifySignature but the cryptographic one. */
export interface SignatureToVerify {
  key: JwsKey;
  bytes: Buffer;
}

/**
 * verifySignature's checks before the cryptography, for a verifier that runs it elsewhere (the
 * server, on its thread pool): the failure, or the key and the signature's bytes to verify.
 */
export function signatureToVerify(
  algorithms: ReadonlySet<string>,
  alg: string,
  key: JwsKey | undefined,
  signature: string,
): SignatureFailure | SignatureToVerify {
  if (!algorithms.has(alg)) return 'alg_not_allowed';
  if (key === undefined) return 'unknown_key';
  // An ES256 claim cannot make an Ed25519 key verify, nor the reverse.
  if (key.alg !== alg) return 'alg_not_allowed';
  const bytes = Buffer.from(signature, 'base64url');
  // Only the canonical spelling: base64url decoding ignores stray trailing bits, so several token
  // strings would otherwise carry one signature.
  if (bytes.length !== SIGNATURE_BYTES || bytes.toString('base64url') !== signature) return 'malformed_signature';
  return { key, bytes };
}

/**
 * node:crypto's algorithm and key arguments to sign or verify with `key` (a private or a public
 * KeyObject): Ed25519 hashes itself, ES256 signatures are raw r||s.
 */
export function cryptoArguments(key: JwsKey): [string | null, KeyObject | VerifyKeyObjectInput] {
  return key.alg === 'EdDSA' ? [null, key.key] : ['sha256', { key: key.key, dsaEncoding: 'ieee-p1363' }];
}
