import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Signing keys at rest (docs/deploy.md "Signing keys at rest"). With a key-encryption key
 * configured, the private PEM is stored as `enc:v1:` + base64url(iv | tag | AES-256-GCM
 * ciphertext), bound to its kid, so a database dump or backup alone does not give away the keys
 * that sign licenses. Private halves stored unsealed are sealed at start (`sealUnsealed` in
 * key-store.ts); afterwards an unsealed one is refused, not used. Without a key-encryption key,
 * PEM is stored as is.
 */
export interface KeySealer {
  /** A key-encryption key is configured: private halves are stored sealed, and read only sealed. */
  readonly sealing: boolean;
  seal(kid: string, pem: string): string;
  open(kid: string, stored: string): string;
  isSealed(stored: string): boolean;
}

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
// Explicit on both sides: given a shorter tag, GCM would otherwise check only that many bytes.
const TAG_BYTES = 16;

export function keySealer(keyEncryptionKey: Buffer | undefined): KeySealer {
  const isSealed = (stored: string) => stored.startsWith(PREFIX);
  return {
    sealing: keyEncryptionKey !== undefined,
    isSealed,
    seal(kid, pem) {
      if (!keyEncryptionKey) return pem;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', keyEncryptionKey, iv, { authTagLength: TAG_BYTES }).setAAD(Buffer.from(kid));
      const sealed = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
    },
    open(kid, stored) {
      if (!isSealed(stored)) {
        if (!keyEncryptionKey) return stored;
        throw new Error(
          `signing key ${kid} is stored unsealed although LICENSOR_KEY_ENCRYPTION_KEY is set (written by a process without it?): ` +
            'restart licensor with LICENSOR_KEY_ENCRYPTION_KEY set, which seals it at start, and set the key on every process and the CLI',
        );
      }
      if (!keyEncryptionKey) {
        throw new Error(`signing key ${kid} is encrypted at rest: set LICENSOR_KEY_ENCRYPTION_KEY to the key it was stored with`);
      }
      const bytes = Buffer.from(stored.slice(PREFIX.length), 'base64url');
      if (bytes.length <= IV_BYTES + TAG_BYTES) {
        throw new Error(
          `signing key ${kid} is damaged at rest: its sealed value is too short to hold a ${TAG_BYTES}-byte tag; restore the database from a backup`,
        );
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', keyEncryptionKey, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES }).setAAD(Buffer.from(kid));
        decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw new Error(`LICENSOR_KEY_ENCRYPTION_KEY does not decrypt signing key ${kid}: it was stored with another key`);
      }
    },
  };
}
