import { timingSafeEqual } from 'node:crypto';
import { hashSecret } from '@licensor/client/contract';
import type { DomainContext } from './context';
import { Forbidden } from './errors';
import type { Activation } from './types';

/**
 * How a client proves that it holds an activation (docs/security.md "One seat is one machine"): the
 * secret the server gave it at activation, or — for activations whose holder never received one
 * (made before secrets, air-gapped, marketplace) and for stores written by older clients — a
 * lease token this server signed for that activation. An activation id and a fingerprint, both
 * readable in every lease token, prove nothing.
 */
export type ActivationProof = { secret: string } | { token: string };

/** What is stored of a secret: its hash (the wire contract's, which a covering token carries). The secret itself is only ever in the client's store. */
export { hashSecret };

/** Rejects with activation_proof_required / activation_proof_invalid (403) unless `proof` holds for `activation`. */
export async function requireHolder(
  ctx: Pick<DomainContext, 'tokens'>,
  activation: Pick<Activation, 'id' | 'secretHash'>,
  proof: ActivationProof | null,
): Promise<void> {
  if (proof === null) {
    throw new Forbidden(
      'activation_proof_required',
      "a heartbeat must prove it holds the activation: send the activation's secret (or a lease token signed for it)",
    );
  }
  if ('secret' in proof ? secretHolds(activation.secretHash, proof.secret) : (await ctx.tokens.verifyHolder(proof.token))?.activation.id === activation.id)
    return;
  throw new Forbidden('activation_proof_invalid', 'the proof does not show that this client holds the activation');
}

function secretHolds(stored: string | null, secret: string): boolean {
  if (stored === null) return false;
  const given = Buffer.from(hashSecret(secret), 'hex');
  const expected = Buffer.from(stored, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
