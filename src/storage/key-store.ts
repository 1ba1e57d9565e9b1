import type { Knex } from 'knex';
import type { KeyStore } from '../domain/ports';
import type { KeyAlgorithm, SigningKey } from '../domain/types';
import { isUniqueViolation } from './database';
import { keySealer, type KeySealer } from './key-sealing';
import { fromJson, numberOrNull, toJson } from './rows';

interface KeyRow {
  kid: string;
  generation: number;
  alg: string;
  public_jwk: string;
  private_key_pem: string | null;
  status: string;
  created_at: number;
  retired_at: number | null;
  publish_until: number | null;
  endorsement: string | null;
}

function keyFromRow(row: KeyRow, sealer: KeySealer): SigningKey {
  return {
    kid: row.kid,
    generation: Number(row.generation),
    alg: row.alg as KeyAlgorithm,
    publicJwk: fromJson(row.public_jwk, {}),
    privateKeyPem: row.private_key_pem === null ? null : sealer.open(row.kid, row.private_key_pem),
    status: row.status as SigningKey['status'],
    createdAt: Number(row.created_at),
    retiredAt: numberOrNull(row.retired_at),
    publishUntil: numberOrNull(row.publish_until),
    endorsement: row.endorsement,
  };
}

export class KnexKeyStore implements KeyStore {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    private readonly sealer: KeySealer = keySealer(undefined),
  ) {}

  async insert(key: SigningKey): Promise<boolean> {
    // The unique generation settles racing first starts and rotations: exactly one insert wins.
    const rows = await this.db('signing_keys')
      .insert({
        kid: key.kid,
        generation: key.generation,
        alg: key.alg,
        public_jwk: toJson(key.publicJwk),
        private_key_pem: key.privateKeyPem === null ? null : this.sealer.seal(key.kid, key.privateKeyPem),
        status: key.status,
        created_at: key.createdAt,
        retired_at: key.retiredAt,
        publish_until: key.publishUntil,
        endorsement: key.endorsement,
      })
      .onConflict('generation')
      .ignore()
      .returning('kid')
      .catch((err: unknown) => {
        if (isUniqueViolation(err)) return [];
        throw err;
      });
    return (rows as unknown[]).length > 0;
  }

  async list(): Promise<SigningKey[]> {
    return (await this.db<KeyRow>('signing_keys').select('*').orderBy('generation')).map((row) => keyFromRow(row, this.sealer));
  }

  async retire(kid: string, at: number, publishUntil: number): Promise<void> {
    await this.db('signing_keys').where({ kid }).update({ status: 'retired', retired_at: at, publish_until: publishUntil, private_key_pem: null });
  }

  async dropRetiredPrivateHalves(): Promise<string[]> {
    const rows = await this.db('signing_keys').where({ status: 'retired' }).whereNotNull('private_key_pem').update({ private_key_pem: null }).returning('kid');
    return (rows as Array<{ kid: string }>).map((r) => r.kid);
  }

  async sealUnsealed(): Promise<string[]> {
    if (!this.sealer.sealing) return [];
    const rows = await this.db<KeyRow>('signing_keys').whereNotNull('private_key_pem').orderBy('generation').select('kid', 'private_key_pem');
    const sealed: string[] = [];
    for (const { kid, private_key_pem: stored } of rows) {
      if (stored === null || this.sealer.isSealed(stored)) continue;
      // Conditional on the value read: a process sealing the same row at the same start wins alone.
      const changed = await this.db('signing_keys')
        .where({ kid, private_key_pem: stored })
        .update({ private_key_pem: this.sealer.seal(kid, stored) });
      if (changed > 0) sealed.push(kid);
    }
    return sealed;
  }
}
