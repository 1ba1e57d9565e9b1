/**
 * Lease claims: what a lease token says (docs/server.md "Lease tokens"). The server builds them
 * (src/domain/lease-token.ts) and the client parses them; one declaration serves both, with the
 * code statuses and seat modes they carry.
 */
import * as crypto from 'node:crypto';
import type { FingerprintHashes } from './fingerprint/components';
import { isObject } from './is-object';

/** An authorization code's lifecycle: issued → alive → expired → frozen → released (terminal). docs/server.md "Lifecycle". */
export const CODE_STATUSES = ['issued', 'alive', 'expired', 'frozen', 'released'] as const;
export type CodeStatus = (typeof CODE_STATUSES)[number];

/**
 * A code that can be used: issued (never activated yet) or alive. The marketplace calls both
 * ALIVE; a usable code past its date is expired, whatever the sweeper has written yet.
 */
export function isUsable(status: CodeStatus | string): boolean {
  return status === 'issued' || status === 'alive';
}

/** A node-locked seat is held until deactivation; a floating seat is a lease (docs/policies.md). */
export const SEAT_MODES = ['node_locked', 'floating'] as const;
export type SeatMode = (typeof SEAT_MODES)[number];

/** Times are seconds since the epoch, as JWT wants. */
export interface LeaseClaims {
  iss: string;
  /** The product name; the server signs one, JWT allows a list. */
  aud: string | string[];
  /** The code's id. */
  sub: string;
  jti: string;
  iat: number;
  nbf: number;
  /** The lease end; never past the license expiry. */
  exp: number;
  license: { status: CodeStatus; expiresAt: number; seats: number; features: string[]; seatMode: SeatMode };
  /**
   * The activation and exactly the fingerprint its holder sent. `secretHash` is only in a token
   * that covers an activation's answer: the hash of the secret that answer carries (hashSecret),
   * so the token authenticates the secret too (docs/server.md "Signed answers").
   */
  activation: { id: string; fingerprint: FingerprintHashes; secretHash?: string };
  heartbeat: { intervalSeconds: number };
  /** The nonce of the request this token answered (answer-signature.ts): the token then authenticates the answer. */
  nonce?: string;
  /** The product's published versions, for update notices. */
  update?: { latestVersion: string; minimumVersion: string | null };
}

const STATUSES: ReadonlySet<string> = new Set(CODE_STATUSES);
const MODES: ReadonlySet<string> = new Set(SEAT_MODES);

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** The claims, if the payload has the shape the server signs; `null` otherwise. */
export function parseLeaseClaims(payload: Buffer): LeaseClaims | null {
  let c: unknown;
  try {
    c = JSON.parse(payload.toString('utf8'));
  } catch {
    return null;
  }
  if (!isObject(c) || !isObject(c.license) || !isObject(c.activation) || !isObject(c.heartbeat)) return null;
  const { license, activation, heartbeat } = c;
  const audOk = isText(c.aud) || (Array.isArray(c.aud) && c.aud.every(isText));
  if (!isText(c.iss) || !audOk || !isText(c.sub) || !isText(c.jti)) return null;
  if (!isTime(c.iat) || !isTime(c.nbf) || !isTime(c.exp)) return null;
  if (typeof license.status !== 'string' || !STATUSES.has(license.status) || !isTime(license.expiresAt)) return null;
  if (!Number.isInteger(license.seats) || !Array.isArray(license.features) || !license.features.every((f) => typeof f === 'string')) return null;
  if (typeof license.seatMode !== 'string' || !MODES.has(license.seatMode)) return null;
  if (!isText(activation.id) || !isObject(activation.fingerprint) || !isTime(heartbeat.intervalSeconds)) return null;
  if (activation.secretHash !== undefined && typeof activation.secretHash !== 'string') return null;
  if (c.nonce !== undefined && typeof c.nonce !== 'string') return null;
  if (c.update !== undefined && !isObject(c.update)) return null;
  return c as unknown as LeaseClaims;
}

/**
 * What is known of an activation's secret outside the client's store: its SHA-256, hex. The
 * server stores it to check the secret a heartbeat proves possession with; a token covering an
 * activation's answer carries it, so the client can check the secret it was given.
 */
export function hashSecret(secret: string): string {
  return oneShotHash === undefined ? crypto.createHash('sha256').update(secret, 'utf8').digest('hex') : oneShotHash('sha256', secret, 'hex');
}

/**
 * `crypto.hash` (Node ≥ 20.12): the server hashes a secret on every heartbeat, and the one-shot
 * call costs a third of a Hash object's and leaves no native object for the collector
 * (docs/performance.md#heartbeat). Older Node, which the client supports, has only the object.
 */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
