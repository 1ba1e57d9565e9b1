/**
 * The stored license of one product on this machine: the lease token, what the server last said
 * about it, the activation's secret, and the key endorsements that lead from the pinned keys to
 * the key that signed the token. One JSON file, replaced atomically.
 *
 * Nothing in this file is trusted for what it claims: the token and the endorsements authenticate
 * themselves (signatures checked from the pinned keys on every load), and the rest is covered by
 * an HMAC so that deleting a "released" mark by hand shows as `store_corrupt`. The MAC key is
 * derived from the per-product fingerprint key compiled into the application: it makes tampering
 * evident to a casual editor, it is not a secret against someone who reads the application's code
 * (docs/client.md "What the client's files protect, and what they do not").
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from './contract/atomic-file';
import { isObject } from './contract/is-object';
import type { RevokedStatus } from './offline-verify';

export interface StoredLicense {
  token: string;
  /** Set when a heartbeat answer ended the license here; cleared by the next good answer. */
  revoked: RevokedStatus | null;
  /**
   * Key endorsements (client/src/contract/key-endorsement.ts) learned online: walked again from the pinned keys
   * at every load, so they add only keys a pinned key vouches for, whatever the file says.
   */
  endorsements: string[];
  /** The activation's secret, the heartbeat's proof of holding it; null for license files and stores of older clients. */
  secret: string | null;
  /** How the token arrived: online activation/heartbeat, or an imported license file. */
  source: 'online' | 'license-file';
  savedAt: number;
}

export type StoreRead = { kind: 'empty' } | { kind: 'corrupt'; detail: string } | { kind: 'ok'; license: StoredLicense };

const FORMAT = 'licensor-license-store';
const VERSION = 1;
const MAX_FILE_BYTES = 256 * 1024;
const REVOKED: ReadonlySet<string> = new Set(['expired', 'frozen', 'released', 'deactivated']);

interface StoreFile {
  format: typeof FORMAT;
  v: typeof VERSION;
  product: string;
  token: string;
  state: Omit<StoredLicense, 'token'>;
  mac: string;
}

export class TokenStore {
  /** `file` is `storePaths(…).license` (license-client.ts). */
  constructor(
    readonly file: string,
    private readonly product: string,
    private readonly macKey: Buffer,
  ) {}

  private mac(state: unknown): string {
    return createHmac('sha256', this.macKey)
      .update(`${FORMAT}\0${VERSION}\0${this.product}\0${JSON.stringify(state)}`)
      .digest('hex');
  }

  /** Never throws: a missing file is `empty`, anything unreadable or edited is `corrupt`. */
  read(): StoreRead {
    let text: string;
    try {
      const bytes = readFileSync(this.file);
      if (bytes.length > MAX_FILE_BYTES) return { kind: 'corrupt', detail: 'the store file is too large' };
      text = bytes.toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'empty' };
      return { kind: 'corrupt', detail: `the store file cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
    }
    let file: unknown;
    try {
      file = JSON.parse(text);
    } catch {
      return { kind: 'corrupt', detail: 'the store file is not valid JSON (truncated?)' };
    }
    if (!isObject(file) || file.format !== FORMAT || file.v !== VERSION || file.product !== this.product) {
      return { kind: 'corrupt', detail: 'the store file is not a license store of this product' };
    }
    const { token, state, mac } = file;
    if (typeof token !== 'string' || token === '' || !isObject(state) || typeof mac !== 'string') {
      return { kind: 'corrupt', detail: 'the store file lacks its token, state or MAC' };
    }
    const expected = Buffer.from(this.mac(state), 'hex');
    const given = Buffer.from(mac, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { kind: 'corrupt', detail: 'the store file was changed outside this client (MAC mismatch)' };
    }
    // Stores written before endorsements and secrets have neither (their learnedKeys are no longer read).
    const { revoked, endorsements = [], secret = null, source, savedAt } = state;
    if (
      (revoked !== null && (typeof revoked !== 'string' || !REVOKED.has(revoked))) ||
      !Array.isArray(endorsements) ||
      !endorsements.every((e) => typeof e === 'string') ||
      (secret !== null && typeof secret !== 'string') ||
      (source !== 'online' && source !== 'license-file') ||
      typeof savedAt !== 'number'
    ) {
      return { kind: 'corrupt', detail: 'the store file state has an unexpected shape' };
    }
    return {
      kind: 'ok',
      license: { token, revoked: revoked as RevokedStatus | null, endorsements: endorsements as string[], secret: secret as string | null, source, savedAt },
    };
  }

  async write(license: StoredLicense): Promise<void> {
    const state: StoreFile['state'] = {
      revoked: license.revoked,
      endorsements: license.endorsements,
      secret: license.secret,
      source: license.source,
      savedAt: license.savedAt,
    };
    const file: StoreFile = { format: FORMAT, v: VERSION, product: this.product, token: license.token, state, mac: this.mac(state) };
    await writeFileAtomic(this.file, JSON.stringify(file, null, 2) + '\n');
  }

  remove(): void {
    rmSync(this.file, { force: true });
  }
}
