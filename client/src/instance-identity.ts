/**
 * A container's instance identity (docs/policies.md "Containers"): a random secret made the first
 * time this product runs in this container, kept in the store directory beside the license, so a
 * restarted container with the same store is the same instance. Copied into another container, it
 * names another instance there, because the fingerprint also keys in what tells containers apart
 * (client/src/contract/fingerprint/hashing.ts `instanceFingerprint`).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const FORMAT = 'licensor-instance';
const SECRET = /^[A-Za-z0-9_-]{43}$/;

/** The instance secret kept in `file`, made there (0600, exclusively) when there is none. Throws on I/O failure. */
export function instanceSecret(file: string): string {
  const existing = readSecret(file);
  if (existing !== null) return existing;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  try {
    writeFileSync(file, JSON.stringify({ format: FORMAT, secret, createdAt: new Date().toISOString() }) + '\n', { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    // Another process of this application made it first: that one is the instance's.
    const theirs = (err as NodeJS.ErrnoException).code === 'EEXIST' ? readSecret(file) : null;
    if (theirs === null) throw err;
    return theirs;
  }
}

function readSecret(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not a licensor instance file (damaged?): remove it to start a new instance`);
  }
  const { format, secret } = (parsed ?? {}) as { format?: unknown; secret?: unknown };
  if (format !== FORMAT || typeof secret !== 'string' || !SECRET.test(secret)) {
    throw new Error(`${file} is not a licensor instance file: remove it to start a new instance`);
  }
  return secret;
}
