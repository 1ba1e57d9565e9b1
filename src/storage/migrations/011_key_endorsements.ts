import type { Knex } from 'knex';

/**
 * Key endorsements and public-only retired keys (docs/deploy.md "Rotating the signing key").
 * `endorsement` is the compact JWS by which the outgoing key signed this key's public JWK at the
 * rotation that brought it in (client/src/contract/key-endorsement.ts); null for a first key and for keys
 * rotated in before this migration. `private_key_pem` becomes nullable: a retired key keeps only
 * its public half. Retired keys of older databases lose theirs at start (src/domain/signing-keys.ts
 * `secureSigningKeys`), where it is audited.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('signing_keys', (t) => {
    t.text('endorsement').nullable();
    t.text('private_key_pem').nullable().alter();
  });
}

export async function down(knex: Knex): Promise<void> {
  // A dropped private half cannot come back: such a row keeps an empty one, which signs nothing.
  await knex('signing_keys').whereNull('private_key_pem').update({ private_key_pem: '' });
  await knex.schema.alterTable('signing_keys', (t) => {
    t.text('private_key_pem').notNullable().alter();
    t.dropColumn('endorsement');
  });
}
