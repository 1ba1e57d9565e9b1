/**
 * LicenseClient: what a vendor's application embeds (docs/client.md).
 * `activate` once, `check()` offline at every start and as often as wanted, a background
 * heartbeat to keep the lease fresh, `deactivate` to free the seat; air-gapped machines use an
 * activation request file and an imported license file instead of `activate`.
 */
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { buildActivationRequest, parseLicenseFile } from './contract/license-files';
import { writeFileAtomic } from './contract/atomic-file';
import { LicenseClientError } from './errors';
import { collectSync } from './fingerprint/addon';
import type { FingerprintHashes } from './contract/fingerprint/components';
import { hashFingerprint, instanceFingerprint } from './contract/fingerprint/hashing';
import { MATCH_STRATEGIES, sameFingerprint, type MatchStrategy } from './contract/fingerprint/matching';
import { hashSecret, isUsable } from './contract/lease-claims';
import type { CollectedFingerprint } from './contract/fingerprint/types';
import { startHeartbeatLoop, type HeartbeatHandle, type HeartbeatLoopOptions, type HeartbeatResult } from './heartbeat-loop';
import { learnEndorsedKeys } from './contract/key-endorsement';
import { KeySet, type JwsAlgorithm, type PublicKeyInput } from './contract/key-set';
import { invalidResult, type CheckResult } from './license-state';
import { unverifiedActivationId, unverifiedNonce, VerifiedLease, type LeaseExpectations, type RevokedStatus } from './offline-verify';
import { ServerApi, untrustedAnswer, type AnswerTrust, type Fetch } from './server-api';
import { instanceSecret } from './instance-identity';
import { isVersion } from './contract/version';
import { TimeGuard } from './time-guard';
import { TokenStore, type StoreRead, type StoredLicense } from './token-store';

export interface LicenseClientOptions {
  /** The product name on the server; tokens for any other product are `wrong_product`. */
  product: string;
  /** Where the license and the clock mark are kept (created 0700 when missing). */
  storeDir: string;
  /** The per-product fingerprint key (HMAC); the same constant the product always uses. */
  fingerprintKey: string | Buffer;
  /** The license server, e.g. https://license.example.com; needed for everything but air-gapped use. */
  serverUrl?: string;
  /**
   * Pinned token-signing public keys, at least one: the server's JWK Set (its endorsements are
   * followed too), JWKs, SPKI PEM strings or KeyObjects. The client trusts exactly these and the
   * keys a chain of endorsements from them vouches for (docs/security.md "Keys and rotation").
   */
  publicKeys: PublicKeyInput | PublicKeyInput[];
  /**
   * Where the server publishes its JWKS with the key endorsements; default
   * `${serverUrl}/.well-known/jwks.json`. Read online when a token or answer names a key this
   * client does not know; a key is learned only if an endorsement chain from a pinned key reaches
   * it. `check()` itself never fetches.
   */
  jwksUrl?: string;
  /** Expected `iss`; default `licensor` (the server's LICENSOR_ISSUER). */
  issuer?: string;
  /** Allowed JWS algorithms; default `['EdDSA']`. Add `'ES256'` for servers with LICENSOR_KEY_ALG=ES256. */
  algorithms?: JwsAlgorithm[];
  /** Fingerprint matching strategy; set it to the product's matchStrategy (default `fuzzy`). */
  matchStrategy?: MatchStrategy;
  /** Allowed difference between this machine's clock and the server's; default 300 s. */
  clockToleranceSeconds?: number;
  /** Timeout of each request to the server; default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Reads this machine's fingerprint; default: the native addon's `collectSync()`. */
  fingerprintSource?: () => CollectedFingerprint;
  /** The time in ms since the epoch; default `Date.now`. */
  clock?: () => number;
  /** A fetch implementation; default the global fetch. */
  fetch?: Fetch;
  /**
   * This application's version (e.g. `2.1.0`). With it, a heartbeat that carries a newer published
   * version raises an update notice (`startHeartbeat({ onUpdate })`, `check().update`).
   */
  version?: string;
}

const PRODUCT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const ALGORITHMS: ReadonlySet<string> = new Set(['EdDSA', 'ES256']);
// AbortSignal.timeout takes whole milliseconds; above 2^31 − 1 (about 24.8 days) its timer fires at once.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const NO_LICENSE = invalidResult('no_license');

export class LicenseClient {
  private readonly product: string;
  private readonly fingerprintKey: string | Buffer;
  private readonly serverUrl: string | undefined;
  private readonly jwksUrl: string | undefined;
  private readonly keys: KeySet;
  private readonly store: TokenStore;
  private readonly timeGuard: TimeGuard;
  private readonly expectations: LeaseExpectations;
  private readonly source: () => CollectedFingerprint;
  private readonly clock: () => number;
  private readonly fetchImpl: Fetch;
  private readonly timeoutMs: number;
  private readonly trust: AnswerTrust;
  private readonly instanceFile: string;

  private stored: StoreRead | null = null;
  private corrupt: CheckResult | null = null;
  private lease: VerifiedLease | null = null;
  private collected: CollectedFingerprint | null = null;
  private hashes: FingerprintHashes | null = null;
  /** Endorsements learned online (kept in the store and walked again from the pinned keys at each load). */
  private endorsements: string[] = [];
  private writes: Promise<unknown> = Promise.resolve();
  private loop: HeartbeatHandle | null = null;

  constructor(options: LicenseClientOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('licensor: LicenseClient needs an options object');
    if (typeof options.product !== 'string' || !PRODUCT_NAME.test(options.product)) {
      throw new TypeError('licensor: options.product must be the product name (letters, digits, dot, dash, underscore)');
    }
    if (typeof options.storeDir !== 'string' || options.storeDir === '') throw new TypeError('licensor: options.storeDir is required');
    const key = options.fingerprintKey;
    if (!((typeof key === 'string' && key !== '') || (Buffer.isBuffer(key) && key.length > 0))) {
      throw new TypeError('licensor: options.fingerprintKey must be a non-empty string or Buffer');
    }
    if (options.serverUrl !== undefined) checkHttpUrl('serverUrl', options.serverUrl);
    if (options.jwksUrl !== undefined) checkHttpUrl('jwksUrl', options.jwksUrl);
    // Counted after a JWK Set is expanded: `{ keys: [] }` pins nothing.
    const keys = new KeySet(options.publicKeys ?? []);
    if (keys.size === 0) {
      throw new TypeError(
        "licensor: options.publicKeys must pin at least one key (ship the server's /.well-known/jwks.json): every other key is trusted only through endorsements from a pinned one",
      );
    }
    const algorithms = options.algorithms ?? ['EdDSA'];
    if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => ALGORITHMS.has(a))) {
      throw new TypeError('licensor: options.algorithms may hold only "EdDSA" and "ES256"');
    }
    // A pinned JWK Set shipped after rotations carries the endorsements that reach today's key.
    learnEndorsedKeys(pinnedEndorsements(options.publicKeys), keys, new Set(algorithms));
    const matchStrategy = options.matchStrategy ?? 'fuzzy';
    if (!MATCH_STRATEGIES.includes(matchStrategy)) {
      throw new TypeError(`licensor: options.matchStrategy must be one of ${MATCH_STRATEGIES.map((m) => `"${m}"`).join(', ')} (the product's matchStrategy)`);
    }
    const tolerance = options.clockToleranceSeconds ?? 300;
    if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > 86_400) throw new TypeError('licensor: options.clockToleranceSeconds must be 0–86400');
    if (options.version !== undefined && !isVersion(options.version)) throw new TypeError('licensor: options.version must be a version such as 2.1.0');
    const timeoutMs = options.requestTimeoutMs ?? 10_000;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) {
      throw new TypeError(`licensor: options.requestTimeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`);
    }

    this.product = options.product;
    this.fingerprintKey = key;
    this.serverUrl = options.serverUrl;
    this.jwksUrl = options.jwksUrl ?? (options.serverUrl === undefined ? undefined : `${options.serverUrl.replace(/\/+$/, '')}/.well-known/jwks.json`);
    this.keys = keys;
    this.source = options.fingerprintSource ?? (() => collectSync());
    this.clock = options.clock ?? Date.now;
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = timeoutMs;
    // Tamper evidence for the store and the clock mark; see token-store.ts for what it is not.
    const macKey = createHmac('sha256', key).update(`licensor-client-store\0${this.product}`).digest();
    const files = storePaths(options.storeDir, this.product);
    this.instanceFile = files.instance;
    this.store = new TokenStore(files.license, this.product, macKey);
    this.timeGuard = new TimeGuard(files.clock, this.product, macKey);
    this.expectations = {
      issuer: options.issuer ?? 'licensor',
      product: this.product,
      algorithms: new Set(algorithms),
      keys: this.keys,
      matchStrategy,
      fingerprint: () => this.fingerprint(),
      clockToleranceMs: tolerance * 1000,
      version: options.version ?? null,
    };
    this.trust = { keys: this.keys, algorithms: this.expectations.algorithms, learnKey: (kid) => this.learnKey(kid) };
  }

  /**
   * Is this machine licensed right now? Offline, never throws, and cheap when repeated.
   *
   * HOT PATH. It must not touch the network, re-import a key, re-collect the fingerprint or
   * re-verify a signature it has already verified: the store file is read and the token
   * verified once per token (VerifiedLease); every later call compares the clock with the
   * cached lease times and the time guard, so a cached answer never outlives the lease or
   * survives a clock set back. Its only write is the clock mark, in the background, at most
   * once a minute.
   */
  check(): CheckResult {
    const stored = this.stored ?? this.load();
    if (stored.kind !== 'ok') return stored.kind === 'empty' ? NO_LICENSE : this.corrupt!;
    const lease = this.lease !== null && this.lease.token === stored.license.token ? this.lease : this.verify(stored.license.token);
    const now = this.clock();
    const result = lease.resultAt(now, this.timeGuard.highWaterMs, stored.license.revoked);
    if (result.reason !== 'clock_tampered') this.timeGuard.observe(now);
    return result;
  }

  /**
   * Activates this machine with an authorization code: collects and hashes the fingerprint,
   * asks the server for a seat, verifies and stores the lease token. Resolves to `check()`.
   * Throws LicenseClientError with the server's code (`code_not_found`, `seat_limit_reached`,
   * `illegal_transition`, …) or the client's (`server_unreachable`, `untrusted_key`, …).
   */
  async activate(code: string): Promise<CheckResult> {
    if (typeof code !== 'string' || code.trim() === '') throw new LicenseClientError('invalid_code', 'the authorization code is empty');
    const api = this.api();
    const hashes = this.requireFingerprint();
    // The answer was authenticated (server-api.ts) before any of it was read: by its signature, or
    // by its token, which must then carry this request's nonce. That is checked first, so that
    // another request's answer is refused before anything is done with it (such as giving its seat back).
    const answer = await api.activate(code, hashes, this.environment());
    const auth = answer.authentication;
    if (auth.by === 'token' && unverifiedNonce(answer.token) !== auth.nonce) throw untrustedAnswer('nonce_mismatch', 201);
    let lease: VerifiedLease;
    try {
      lease = await this.accept(answer.token, true);
    } catch (err) {
      // A code of another product took a seat there; give it back rather than burn it.
      if (err instanceof LicenseClientError && (err.code === 'wrong_product' || err.code === 'wrong_issuer')) {
        await api.deactivate(answer.activation.id, answer.token).catch(() => undefined);
      }
      throw err;
    }
    if (lease.claims?.activation.id !== answer.activation.id) throw untrustedAnswer('wrong_activation', 201);
    if (!sameFingerprint(lease.claims.activation.fingerprint, hashes)) throw untrustedAnswer('wrong_fingerprint', 201);
    // Covered by its token, the answer holds only what the verified token vouches for, its secret
    // included (its nonce was read above from the very bytes the signature then covered).
    if (auth.by === 'token' && lease.claims.activation.secretHash !== hashSecret(answer.activation.secret)) throw untrustedAnswer('wrong_secret', 201);
    await this.save(answer.token, 'online', null, lease, answer.activation.secret, true);
    return this.check();
  }

  /**
   * One heartbeat now. Never throws: the outcome says what happened (HeartbeatResult).
   * A server that cannot be reached changes nothing (the lease is the grace period); an answer
   * of expired, frozen or released, or an ended seat, takes effect at once and is stored. An
   * answer that is not authenticated as the server's answer to THIS request (signature, nonce)
   * is `refused` with `untrusted_answer` or `untrusted_key` and changes nothing.
   */
  async heartbeat(): Promise<HeartbeatResult> {
    const result = await this.beat();
    // Another process of this application may have activated this machine again since this one
    // read the store: its new secret is on disk. Take it and beat once more.
    if (result.error instanceof LicenseClientError && result.error.code === 'activation_proof_invalid' && this.adoptNewerStore()) return this.beat();
    return result;
  }

  private async beat(): Promise<HeartbeatResult> {
    try {
      const stored = this.stored ?? this.load();
      const activationId = stored.kind === 'ok' ? unverifiedActivationId(stored.license.token) : null;
      if (stored.kind !== 'ok' || activationId === null) return { outcome: 'no_license', license: this.check() };
      const api = this.api();
      const hashes = this.requireFingerprint();
      const { secret } = stored.license;
      let answer;
      try {
        answer = await api.heartbeat(activationId, hashes, secret !== null ? { secret } : { token: stored.license.token });
      } catch (err) {
        if (!(err instanceof LicenseClientError)) throw err;
        if (err.retryable) return { outcome: 'unreachable', license: this.check(), error: err };
        const ended = endedBy(err);
        if (ended === null) return { outcome: 'refused', license: this.check(), error: err };
        await this.revoke(ended);
        return { outcome: 'revoked', license: this.check(), error: err };
      }
      // A token-authenticated answer (server-api.ts makes sure it carries the token) renews with it: its unsigned status is not read.
      const auth = answer.authentication;
      if (answer.token !== null && (auth.by === 'token' || isUsable(answer.status))) {
        const lease = await this.accept(answer.token, true);
        // Only the verified token is believed: when it authenticates the answer, it must answer this very request.
        if (auth.by === 'token' && lease.claims?.nonce !== auth.nonce) throw untrustedAnswer('nonce_mismatch', 200);
        if (lease.claims?.activation.id !== activationId) throw untrustedAnswer('wrong_activation', 200);
        // A token for any other fingerprint would let this seat serve the machine it names too.
        if (!sameFingerprint(lease.claims.activation.fingerprint, hashes)) throw untrustedAnswer('wrong_fingerprint', 200);
        await this.save(answer.token, 'online', null, lease, secret, true);
        return { outcome: 'renewed', license: this.check() };
      }
      if (answer.status === 'expired' || answer.status === 'frozen' || answer.status === 'released') {
        await this.revoke(answer.status);
        return { outcome: 'revoked', license: this.check() };
      }
      return { outcome: 'refused', license: this.check(), error: new LicenseClientError('bad_response', `unexpected heartbeat status "${answer.status}"`) };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const unreachable = err instanceof LicenseClientError && err.retryable;
      return { outcome: unreachable ? 'unreachable' : 'refused', license: this.check(), error };
    }
  }

  /**
   * Heartbeats in the background until stopped, the license is released, or the seat ends.
   * The first beat is immediate. Starting again replaces the previous loop.
   */
  startHeartbeat(options: HeartbeatLoopOptions = {}): HeartbeatHandle {
    this.loop?.stop();
    this.loop = startHeartbeatLoop(
      {
        beat: () => this.heartbeat(),
        check: () => this.check(),
        serverIntervalMs: () => {
          const seconds = this.lease?.claims?.heartbeat.intervalSeconds;
          return seconds === undefined || seconds <= 0 ? null : seconds * 1000;
        },
        changesAt: () => (this.check().valid ? (this.lease?.validUntilMs ?? null) : null),
        now: () => this.clock(),
        random: Math.random,
      },
      options,
    );
    return this.loop;
  }

  /** Frees this machine's seat on the server (the token is the proof), then removes the stored license. */
  async deactivate(): Promise<void> {
    const stored = this.stored ?? this.load();
    if (stored.kind === 'empty') throw new LicenseClientError('no_license', 'there is no license to deactivate');
    if (stored.kind === 'corrupt') {
      throw new LicenseClientError('store_corrupt', 'the stored license is damaged, so it cannot prove the seat; ask the vendor to free it');
    }
    const token = stored.license.token;
    const activationId = unverifiedActivationId(token);
    if (activationId === null) throw new LicenseClientError('bad_token', 'the stored token names no activation');
    try {
      await this.api().deactivate(activationId, token);
    } catch (err) {
      // Already gone on the server: nothing left to free.
      if (!(err instanceof LicenseClientError && err.code === 'activation_not_found')) throw err;
    }
    this.loop?.stop();
    await this.serialized(async () => this.store.remove());
    this.stored = { kind: 'empty' };
    this.lease = null;
  }

  /**
   * Air-gapped activation, step 1: the request the operator answers with
   * `licensor offline respond`. Holds the code and fingerprint hashes (no raw serials).
   * Returns the JSON text, and writes it to `file` when given.
   */
  async createActivationRequest(code: string, file?: string): Promise<string> {
    if (typeof code !== 'string' || code.trim() === '') throw new LicenseClientError('invalid_code', 'the authorization code is empty');
    const request = buildActivationRequest(this.product, code.trim(), this.requireFingerprint(), this.environment(), this.clock());
    const text = JSON.stringify(request, null, 2) + '\n';
    if (file !== undefined) await writeFileAtomic(file, text);
    return text;
  }

  /**
   * Air-gapped activation, step 2: verifies and stores the license file the operator made
   * (a path, or `{ contents }` when the text was pasted). Resolves to `check()`.
   */
  async importLicenseFile(source: string | { contents: string }): Promise<CheckResult> {
    let text: string;
    if (typeof source === 'string') {
      try {
        text = await readFile(source, 'utf8');
      } catch (cause) {
        throw new LicenseClientError('invalid_license_file', `cannot read the license file ${source}`, { cause });
      }
    } else {
      text = source.contents;
    }
    const parsed = parseLicenseFile(text);
    if (!parsed.ok) throw new LicenseClientError('invalid_license_file', parsed.message);
    if (parsed.file.product !== this.product) {
      throw new LicenseClientError('wrong_product', `the license file is for product "${parsed.file.product}", not "${this.product}"`);
    }
    const lease = await this.accept(parsed.file.token, this.jwksUrl !== undefined);
    await this.save(parsed.file.token, 'license-file', null, lease, null, false);
    return this.check();
  }

  // -------------------------------------------------------------------------------------------

  private load(): StoreRead {
    this.timeGuard.load();
    return this.take(this.store.read());
  }

  /** Makes `read` this client's view of the store. */
  private take(read: StoreRead): StoreRead {
    // Walked from the pinned keys: an endorsement the file holds adds a key only if a pinned key vouches for it.
    if (read.kind === 'ok') this.endorsements = learnEndorsedKeys(read.license.endorsements, this.keys, this.expectations.algorithms);
    this.corrupt = read.kind === 'corrupt' ? invalidResult('store_corrupt', undefined, read.detail) : null;
    this.stored = read;
    return read;
  }

  /** Takes the store as it is on disk when it holds another license or secret than this client read; true if it did. */
  private adoptNewerStore(): boolean {
    const held = this.stored;
    const read = this.store.read();
    if (read.kind !== 'ok' || held?.kind !== 'ok' || (read.license.token === held.license.token && read.license.secret === held.license.secret)) return false;
    this.take(read);
    return true;
  }

  /** The expensive checks, once per token; the server's `iat` raises the clock mark. */
  private verify(token: string): VerifiedLease {
    const lease = new VerifiedLease(token, this.expectations);
    if (lease.verified) this.timeGuard.raise(lease.issuedAtMs);
    this.lease = lease;
    return lease;
  }

  /**
   * Verifies a token received from the server or a license file before it is stored. An
   * unknown kid is looked up through the published endorsements when online.
   */
  private async accept(token: string, mayFetchKeys: boolean): Promise<VerifiedLease> {
    let lease = new VerifiedLease(token, this.expectations);
    if (!lease.verified && lease.unknownKid !== null && mayFetchKeys && (await this.learnKey(lease.unknownKid))) {
      lease = new VerifiedLease(token, this.expectations);
    }
    const failure = lease.verdict;
    if (failure !== null && !failure.valid) {
      const detail = failure.detail ?? failure.reason;
      if (lease.unknownKid !== null) {
        throw new LicenseClientError('untrusted_key', `the server signed with key ${lease.unknownKid}, which no endorsement from a pinned key vouches for`);
      }
      const code = failure.reason === 'bad_signature' ? 'bad_token' : failure.reason;
      throw new LicenseClientError(code, `the license token was refused: ${detail}`);
    }
    return lease;
  }

  /**
   * Stores `token` as this machine's license, with what the server last said about it, the
   * activation's secret and the endorsements learned so far. `lease` is the token already
   * verified, when it is, so it is not verified twice. `fresh`: the token answers this client's
   * own request, so its `iat` is the server's time now, and the clock mark is set to it.
   */
  private async save(
    token: string,
    source: StoredLicense['source'],
    revoked: RevokedStatus | null,
    lease: VerifiedLease | null,
    secret: string | null,
    fresh: boolean,
  ): Promise<void> {
    const license: StoredLicense = { token, revoked, endorsements: [...this.endorsements], secret, source, savedAt: this.clock() };
    await this.serialized(() => this.store.write(license));
    this.stored = { kind: 'ok', license };
    this.corrupt = null;
    if (lease === null || lease.token !== token) lease = this.verify(license.token);
    else this.lease = lease;
    if (fresh && lease.verified) await this.timeGuard.reanchor(lease.issuedAtMs).catch(() => undefined);
    else await this.timeGuard.flush().catch(() => undefined);
  }

  private async revoke(status: RevokedStatus): Promise<void> {
    const stored = this.stored ?? this.load();
    if (stored.kind !== 'ok') return;
    // The stored token is unchanged: the lease already verified for it (by check() or a beat) serves.
    await this.save(stored.license.token, stored.license.source, status, this.lease, stored.license.secret, false);
  }

  /** Store writes run one at a time, in call order. */
  private serialized<T>(write: () => Promise<T> | T): Promise<T> {
    const next = this.writes.then(write, write);
    this.writes = next.catch(() => undefined);
    return next;
  }

  /**
   * Learns the signing key `kid` while online through the endorsements published beside the JWKS
   * (docs/security.md "Keys and rotation"): only a chain from a key this client trusts adds it.
   * True when it is known now. Used for tokens and for answer signatures.
   */
  private async learnKey(kid: string): Promise<boolean> {
    if (this.jwksUrl === undefined) return false;
    let published: unknown[];
    try {
      published = await this.api(true).endorsements(this.jwksUrl);
    } catch (cause) {
      throw new LicenseClientError('untrusted_key', `the server signed with key ${kid}, and its endorsements could not be fetched`, { cause });
    }
    for (const used of learnEndorsedKeys(published, this.keys, this.expectations.algorithms)) {
      if (!this.endorsements.includes(used)) this.endorsements.push(used);
    }
    return this.keys.get(kid) !== undefined;
  }

  private api(jwksOnly = false): ServerApi {
    if (this.serverUrl === undefined && !jwksOnly) throw new LicenseClientError('no_server', 'options.serverUrl is not set');
    return new ServerApi(this.serverUrl ?? '', this.fetchImpl, this.timeoutMs, this.trust);
  }

  /**
   * Collected and hashed once per client; an error is returned, not thrown (check() never throws).
   * In a container the fingerprint is its instance identity instead of hardware that belongs to
   * the image or the host (docs/policies.md "Containers").
   */
  private fingerprint(): FingerprintHashes | Error {
    if (this.hashes !== null) return this.hashes;
    try {
      const collected = (this.collected = this.source());
      const env = collected.env as { container?: unknown; containerId?: unknown } | undefined;
      this.hashes =
        env?.container === true
          ? instanceFingerprint(instanceSecret(this.instanceFile), typeof env.containerId === 'string' ? env.containerId : hostname(), this.fingerprintKey)
          : hashFingerprint(collected, this.fingerprintKey);
      return this.hashes;
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  private requireFingerprint(): FingerprintHashes {
    const hashes = this.fingerprint();
    if (hashes instanceof Error) throw new LicenseClientError('fingerprint_unavailable', hashes.message, { cause: hashes });
    return hashes;
  }

  /** What the operator sees about this machine (never identity). */
  private environment(): Record<string, string | boolean | null> {
    const c = this.collected;
    if (c === null || typeof c !== 'object' || !('env' in c) || typeof c.env !== 'object' || c.env === null) return {};
    return {
      platform: c.platform ?? null,
      virtualized: c.env.virtualized ?? null,
      hypervisor: c.env.hypervisorVendor ?? null,
      container: c.env.container ?? null,
      containerRuntime: c.env.containerRuntime ?? null,
      cloud: c.env.cloud ?? null,
    };
  }
}

/**
 * The server ended this seat: the code was released (all seats freed), the vendor deactivated
 * it, a floating seat lapsed, or the activation is gone. docs/server.md "Errors".
 */
function endedBy(err: LicenseClientError): RevokedStatus | null {
  if (err.code === 'activation_not_found') return 'deactivated';
  if (err.code !== 'activation_ended') return null;
  return err.details?.codeStatus === 'released' ? 'released' : 'deactivated';
}

/** The endorsements inside pinned JWK Sets (the server's JWKS carries them beside its keys). */
function pinnedEndorsements(pinned: PublicKeyInput | PublicKeyInput[] | undefined): unknown[] {
  const inputs = Array.isArray(pinned) ? pinned : pinned === undefined ? [] : [pinned];
  return inputs.flatMap((input) => {
    const endorsements = typeof input === 'object' && input !== null ? (input as { endorsements?: unknown }).endorsements : undefined;
    return Array.isArray(endorsements) ? endorsements : [];
  });
}

/** Where a client with these options keeps its files: the one place their names are made (tests and tools use it too). */
export function storePaths(storeDir: string, product: string): { license: string; clock: string; instance: string } {
  return {
    license: join(storeDir, `${product}.license.json`),
    clock: join(storeDir, `${product}.clock.json`),
    instance: join(storeDir, `${product}.instance.json`),
  };
}

/** Refuses at construction a URL that every request would fail on later (as `server_unreachable`). */
function checkHttpUrl(option: 'serverUrl' | 'jwksUrl', value: unknown): void {
  let protocol: string | null = null;
  try {
    protocol = typeof value === 'string' ? new URL(value).protocol : null;
  } catch {
    protocol = null;
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new TypeError(`licensor: options.${option} must be an http:// or https:// URL, e.g. https://license.example.com`);
  }
}
