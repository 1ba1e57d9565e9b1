/**
 * Key endorsements: the chain of trust between signing keys (docs/security.md "Keys and
 * rotation"). At a rotation the outgoing key signs the incoming key's public JWK; the server
 * publishes every endorsement it ever made beside its JWKS, and a client learns a key only by
 * walking endorsements from a key it already trusts. A client offline through several rotations
 * follows the whole chain at once: each endorsement carries the key it endorses, so retired keys
 * need not be published any more.
 *
 * An endorsement is a compact JWS:
 *
 *   header  { "alg": <the endorser's alg>, "kid": <the endorser's kid>, "typ": "licensor-key-endorsement+jwt" }
 *   payload { "endorses": <the new public JWK, with its kid>, "iat": <seconds> }
 *
 * Its `typ` differs from a lease token's (`JWT`), and a lease token's payload has no `endorses`,
 * so neither can pass for the other even though the same keys sign both.
 */
import { sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { isObject } from './is-object';
import { importPublicKey, jwkThumbprint, type JwsAlgorithm, type KeySet, type TrustedKey } from './key-set';
import { verifyCompactJws } from './jws';

const ENDORSEMENT_TYPE = 'licensor-key-endorsement+jwt';

/** The signing input's two segments, base64url. */
function signingInput(endorserKid: string, alg: JwsAlgorithm, endorsed: JsonWebKey, iat: number): string {
  const header = Buffer.from(JSON.stringify({ alg, kid: endorserKid, typ: ENDORSEMENT_TYPE })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ endorses: endorsed, iat })).toString('base64url');
  return `${header}.${payload}`;
}

/**
 * The endorsement of `endorsed` (a public JWK whose `kid` is its RFC 7638 thumbprint) by the
 * key `endorserKid`, signed with that key's private half. Server side, at rotation.
 */
export function signEndorsement(endorser: { kid: string; alg: JwsAlgorithm; privateKey: KeyObject }, endorsed: JsonWebKey, iatSeconds: number): string {
  const input = signingInput(endorser.kid, endorser.alg, endorsed, iatSeconds);
  const signature =
    endorser.alg === 'EdDSA'
      ? sign(null, Buffer.from(input), endorser.privateKey)
      : sign('sha256', Buffer.from(input), { key: endorser.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

export type EndorsementFailure = 'malformed' | 'unknown_endorser' | 'bad_signature' | 'bad_key';

/**
 * Verifies one endorsement with the keys `keys` trusts now; the endorsed key (not yet added) or
 * why not. The endorsed key's kid must be its thumbprint, so it can never claim a pinned key's kid.
 */
function verifyEndorsement(
  jws: unknown,
  keys: KeySet,
  algorithms: ReadonlySet<JwsAlgorithm>,
): { key: TrustedKey; endorser: string } | { failure: EndorsementFailure } {
  if (typeof jws !== 'string') return { failure: 'malformed' };
  let endorser = '';
  const verified = verifyCompactJws(jws, algorithms, (header) => {
    if (header.typ !== ENDORSEMENT_TYPE || header.kid === undefined) return undefined;
    endorser = header.kid;
    return keys.get(header.kid);
  });
  if (!verified.ok) {
    if (verified.failure === 'unknown_key') return { failure: endorser === '' ? 'malformed' : 'unknown_endorser' };
    return { failure: verified.failure === 'malformed' ? 'malformed' : 'bad_signature' };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(verified.payload.toString('utf8'));
  } catch {
    return { failure: 'malformed' };
  }
  if (!isObject(payload) || !isObject(payload.endorses) || typeof payload.iat !== 'number') return { failure: 'malformed' };
  try {
    const key = importPublicKey(payload.endorses as JsonWebKey, false);
    if (key.kid !== jwkThumbprint(key.jwk)) return { failure: 'bad_key' };
    return { key, endorser };
  } catch {
    return { failure: 'bad_key' };
  }
}

/**
 * Walks `endorsements` from the keys `keys` already trusts and adds every key reachable through
 * them, in as many passes as the chain is long (they may come in any order). Returns the
 * endorsements that added a key, which are what a client keeps to rebuild the chain after a restart.
 * Endorsements that verify with no trusted key are ignored: they prove nothing to this client.
 */
export function learnEndorsedKeys(endorsements: readonly unknown[], keys: KeySet, algorithms: ReadonlySet<JwsAlgorithm>): string[] {
  const used: string[] = [];
  let pending = endorsements.filter((e): e is string => typeof e === 'string');
  for (let progress = true; progress && pending.length > 0;) {
    progress = false;
    const next: string[] = [];
    for (const jws of pending) {
      const result = verifyEndorsement(jws, keys, algorithms);
      if ('key' in result) {
        // An endorsement of a key already trusted (pinned, or reached before) is not needed again.
        if (keys.add(result.key)) {
          used.push(jws);
          progress = true;
        }
      } else if (result.failure === 'unknown_endorser') {
        next.push(jws);
      }
    }
    pending = next;
  }
  return used;
}
