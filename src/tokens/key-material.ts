import { createPrivateKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { signEndorsement } from '@licensor/client/contract';
import type { KeyAlgorithm, SigningKey } from '../domain/types';

/** A new key pair; the kid is the RFC 7638 thumbprint of its public JWK. */
export async function generateSigningKey(alg: KeyAlgorithm, generation: number, now: number): Promise<SigningKey> {
  const pair = alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = pair.publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return {
    kid,
    generation,
    alg,
    publicJwk: { ...jwk, kid, alg, use: 'sig' },
    privateKeyPem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    status: 'active',
    createdAt: now,
    retiredAt: null,
    publishUntil: null,
    endorsement: null,
  };
}

/** The outgoing key's endorsement of the incoming one: its public JWK as the JWKS publishes it. */
export function endorseSigningKey(endorser: SigningKey, endorsed: SigningKey, now: number): string {
  if (endorser.privateKeyPem === null) throw new Error(`signing key ${endorser.kid} has no private half left to endorse with`);
  return signEndorsement(
    { kid: endorser.kid, alg: endorser.alg, privateKey: createPrivateKey(endorser.privateKeyPem) },
    endorsed.publicJwk as JsonWebKey,
    Math.floor(now / 1000),
  );
}
