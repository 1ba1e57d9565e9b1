import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { cryptoArguments, openCompactJws } from '@licensor/client/contract';
import { currentKey, publishedKeys } from '../domain/signing-keys';
import type { LeaseClaims } from '../domain/lease-token';
import type { LeaseTokens } from '../domain/ports';
import type { KeyAlgorithm, SigningKey } from '../domain/types';
import { SignatureScheduler, type RequestLoad } from './signature-scheduler';

interface LoadedKey {
  record: SigningKey;
  publicKey: KeyObject;
  /** Only the current key keeps its private half in memory: node:crypto's arguments to sign with it. */
  signing: ReturnType<typeof cryptoArguments> | null;
  /** base64url(header) + '.', computed once per key. */
  headerPrefix: string;
  /** The start of a Licensor-Signature header value, and the whole value for token-covered answers. */
  answerPrefix: string;
  tokenCovered: string;
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

function privateHalf(record: SigningKey): KeyObject {
  if (record.privateKeyPem === null) throw new Error(`the current signing key ${record.kid} has no private half: rotate (licensor keys rotate)`);
  return createPrivateKey(record.privateKeyPem);
}

const ALGORITHMS: ReadonlySet<string> = new Set<KeyAlgorithm>(['EdDSA', 'ES256']);

/**
 * The server's signing keys, imported once into KeyObjects. Tokens are compact JWS built here
 * with node:crypto directly: on the heartbeat path a full JOSE library costs as much as the
 * whole request, and the header for each key never changes.
 */
export class KeyRing implements LeaseTokens {
  private byKid = new Map<string, LoadedKey>();
  private current: LoadedKey | null = null;
  private signed = 0;
  private readonly scheduler: SignatureScheduler;

  /** `requestLoad` tells where to sign: inline for a lone request, else on the thread pool (signature-scheduler.ts). */
  constructor(keys: SigningKey[] = [], requestLoad: RequestLoad | null = null) {
    this.scheduler = new SignatureScheduler(requestLoad);
    this.load(keys);
  }

  /** Replaces the key set (after a rotation here or in another process). Unchanged keys keep their objects. */
  load(keys: SigningKey[]): void {
    const active = currentKey(keys);
    const next = new Map<string, LoadedKey>();
    for (const record of keys) {
      const previous = this.byKid.get(record.kid);
      const wantsPrivate = record.kid === active?.kid;
      next.set(record.kid, {
        record,
        publicKey: previous?.publicKey ?? createPublicKey({ key: record.publicJwk as never, format: 'jwk' }),
        signing: wantsPrivate ? (previous?.signing ?? cryptoArguments({ alg: record.alg, key: privateHalf(record) })) : null,
        headerPrefix: previous?.headerPrefix ?? b64url(JSON.stringify({ alg: record.alg, kid: record.kid, typ: 'JWT' })) + '.',
        answerPrefix: `kid="${record.kid}", alg="${record.alg}", sig="`,
        tokenCovered: `kid="${record.kid}", alg="${record.alg}", covered="token"`,
      });
    }
    this.byKid = next;
    this.current = active ? next.get(active.kid)! : null;
  }

  get currentKid(): string | null {
    return this.current?.record.kid ?? null;
  }

  /** Tokens signed by this process (for /metrics). */
  get signatureCount(): number {
    return this.signed;
  }

  /** A compact JWS: base64url segments and dots only (the heartbeat's answer writes it into JSON as it is: heartbeat-answer.ts). */
  async sign(claims: LeaseClaims): Promise<string> {
    const key = this.current;
    if (!key?.signing) throw new Error('no signing key loaded');
    this.signed++;
    const signingInput = key.headerPrefix + b64url(JSON.stringify(claims));
    const [algorithm, signingKey] = key.signing;
    const signature = await this.scheduler.sign(algorithm, Buffer.from(signingInput), signingKey);
    return signingInput + '.' + signature.toString('base64url');
  }

  /**
   * A Licensor-Signature header value over the signing input of a client-API answer
   * (client/src/contract/answer-signature.ts), made with the current key: the same cached KeyObject as tokens.
   */
  async signAnswer(input: Buffer): Promise<string> {
    const key = this.current;
    if (!key?.signing) throw new Error('no signing key loaded');
    const [algorithm, signingKey] = key.signing;
    return key.answerPrefix + (await this.scheduler.sign(algorithm, input, signingKey)).toString('base64url') + '"';
  }

  /** The header value of an answer whose lease token (carrying the client's nonce) authenticates it. */
  tokenCoveredHeader(): string {
    const key = this.current;
    if (!key) throw new Error('no signing key loaded');
    return key.tokenCovered;
  }

  /**
   * Proof of holding an activation: the client library's strict JWS checks, with every key we ever
   * loaded, and the signature verified where signatures are made (signature-scheduler.ts).
   */
  async verifyHolder(token: string): Promise<LeaseClaims | null> {
    const opened = openCompactJws(token, ALGORITHMS, (header) => {
      const key = header.kid === undefined ? undefined : this.byKid.get(header.kid);
      return key && { alg: key.record.alg, key: key.publicKey };
    });
    if (!opened.ok) return null;
    const [algorithm, key] = cryptoArguments(opened.signature.key);
    if (!(await this.scheduler.verify(algorithm, opened.input, key, opened.signature.bytes))) return null;
    try {
      return JSON.parse(opened.payload.toString('utf8')) as LeaseClaims;
    } catch {
      return null;
    }
  }

  /**
   * The public JWK Set: the current key and retired keys whose tokens may still be live, and every
   * endorsement ever made, oldest rotation first. Endorsements outlive their keys' publication, so
   * a client offline through several rotations can still walk from the key it trusts to the current
   * one (docs/server.md "Key endorsements").
   */
  jwks(now: number): { keys: Record<string, unknown>[]; endorsements: string[] } {
    const records = [...this.byKid.values()].map((k) => k.record).sort((a, b) => a.generation - b.generation);
    return {
      keys: publishedKeys(records, now).map((k) => k.publicJwk),
      endorsements: records.flatMap((k) => (k.endorsement === null ? [] : [k.endorsement])),
    };
  }
}
