import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Signing keys at rest. With a key-encryption key configured, the private PEM is stored as
 * `enc:v1:` + base64url(iv | tag | AES-256-GCM ciphertext), bound to its kid, so a database dump
 * or backup alone does not give away the keys that sign licenses. Without one, PEM is stored as
 * is; PEM rows written before a key-encryption key was configured stay readable.
 */
export interface KeySealer {
  seal(kid: string, pem: string): string;
  open(kid: string, stored: string): string;
}

const PREFIX = 'enc:v1:';

export function keySealer(keyEncryptionKey: Buffer | undefined): KeySealer {
  return {
    seal(kid, pem) {
      if (!keyEncryptionKey) return pem;
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keyEncryptionKey, iv).setAAD(Buffer.from(kid));
      const sealed = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
    },
    open(kid, stored) {
      if (!stored.startsWith(PREFIX)) return stored;
      if (!keyEncryptionKey) {
        throw new Error(`signing key ${kid} is encrypted at rest: set LICENSOR_KEY_ENCRYPTION_KEY to the key it was stored with`);
      }
      const bytes = Buffer.from(stored.slice(PREFIX.length), 'base64url');
      try {
        const decipher = createDecipheriv('aes-256-gcm', keyEncryptionKey, bytes.subarray(0, 12)).setAAD(Buffer.from(kid));
        decipher.setAuthTag(bytes.subarray(12, 28));
        return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
      } catch {
        throw new Error(`LICENSOR_KEY_ENCRYPTION_KEY does not decrypt signing key ${kid}: it was stored with another key`);
      }
    },
  };
}
