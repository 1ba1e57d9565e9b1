import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectSync, LicenseClient, storePaths, type LicenseClientOptions } from '@licensor/client';
import { hashFingerprint, type FingerprintHashes } from '@licensor/client/contract';
import { materializeMachine, type Machine, type MachineName } from '../native/helpers/machines';
import type { TestServer } from './harness';
import { admin, call } from './http';

/** The per-product fingerprint key a vendor compiles into the application. */
export const FINGERPRINT_KEY = 'test-product-fingerprint-key';

/** Fixture machines read by the real addon (`collect({ root })`), removed after the suite. */
export class Machines {
  private readonly made = new Map<MachineName, Machine>();

  /** The fixture tree of `name`, materialised once. */
  rootOf(name: MachineName): string {
    let machine = this.made.get(name);
    if (!machine) {
      machine = materializeMachine(name);
      this.made.set(name, machine);
    }
    return machine.root;
  }

  /** A fingerprint source for `name`: the native addon over that fixture tree. */
  source(name: MachineName): () => ReturnType<typeof collectSync> {
    const root = this.rootOf(name);
    return () => collectSync({ root });
  }

  remove(): void {
    for (const machine of this.made.values()) machine.remove();
    this.made.clear();
  }
}

/** Temporary store directories, removed after the suite. */
export class StoreDirs {
  private readonly dirs: string[] = [];

  make(): string {
    const dir = mkdtempSync(join(tmpdir(), 'licensor-client-'));
    this.dirs.push(dir);
    return dir;
  }

  remove(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

export async function publishedKeys(server: Pick<TestServer, 'url'>): Promise<{ keys: Record<string, unknown>[] }> {
  return (await call(server.url, 'GET', '/.well-known/jwks.json')).body;
}

/** A fetch that fails like a server that is gone, counting the attempts. */
export function deadFetch(): typeof fetch & { calls: number } {
  const f = (async () => {
    f.calls += 1;
    throw new TypeError('fetch failed (test: the network is down)');
  }) as unknown as typeof fetch & { calls: number };
  f.calls = 0;
  return f;
}

/** A client of `server`, pinned to the keys it publishes now, on the server's hand-moved clock. */
export async function clientOf(
  server: TestServer,
  product: string,
  machine: () => ReturnType<typeof collectSync>,
  storeDir: string,
  options: Partial<LicenseClientOptions> = {},
): Promise<LicenseClient> {
  return new LicenseClient({
    serverUrl: server.url,
    product,
    publicKeys: options.publicKeys ?? (await publishedKeys(server)),
    storeDir,
    fingerprintKey: FINGERPRINT_KEY,
    fingerprintSource: machine,
    clock: () => server.clock.now(),
    ...options,
  });
}

export async function issueCode(server: Pick<TestServer, 'url'>, product: string, seats = 1, days = 30, features: string[] = []): Promise<string> {
  const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product, seats, days, features });
  if (issued.status !== 201) throw new Error(`issuing a code failed: ${issued.text}`);
  return issued.body.code.code as string;
}

/** The claims of a token (a JWT payload), decoded without verifying it: what the server signed. */
export function claimsOf(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

/** The store file as JSON, to copy or to tamper with. */
export function readStore(storeDir: string, product: string): { token: string; state: Record<string, unknown>; mac: string } {
  return JSON.parse(readFileSync(storePaths(storeDir, product).license, 'utf8'));
}

/** Writes a store file that is `from`'s with another token: its MAC stays valid (it does not cover the token). */
export function storeWithToken(fromDir: string, toDir: string, product: string, token: string): void {
  const file = readStore(fromDir, product);
  writeFileSync(storePaths(toDir, product).license, JSON.stringify({ ...file, token }));
}

/**
 * Writes a store file with a MAC the client accepts, as a pirate who read the application's
 * fingerprint key can (the MAC key derives from it): the attack the store's MAC cannot stop.
 */
export function plantStore(storeDir: string, product: string, token: string, state: Record<string, unknown> = {}): void {
  const macKey = createHmac('sha256', FINGERPRINT_KEY).update(`licensor-client-store\0${product}`).digest();
  const full = { revoked: null, endorsements: [], secret: null, source: 'online', savedAt: Date.now(), ...state };
  const mac = createHmac('sha256', macKey)
    .update(`licensor-license-store\u00001\u0000${product}\u0000${JSON.stringify(full)}`)
    .digest('hex');
  writeFileSync(storePaths(storeDir, product).license, JSON.stringify({ format: 'licensor-license-store', v: 1, product, token, state: full, mac }));
}

/** The fingerprint hashes the client sends for a fixture machine (as its activation request file shows them). */
export function hashesOf(machines: Machines, name: MachineName): FingerprintHashes {
  return hashFingerprint(collectSync({ root: machines.rootOf(name) }), FINGERPRINT_KEY);
}
