import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { KeyAlgorithm, SigningKey } from '../domain/types';

/** A new key pair; the kid is the RFC 7638 thumbprint of its public JWK. */
export async function generateSigningKey(alg: KeyAlgorithm, generation: number, now: number): Promise<SigningKey> {
  const pair =
    alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
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
  };
}
