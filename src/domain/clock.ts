import { randomBytes, randomFillSync } from 'node:crypto';

/** Time and randomness are injected so expiry, leases and culling are testable without sleeping. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A day, in the clock's milliseconds. */
export const DAY_MS = 86_400_000;

export interface IdSource {
  id(): string;
  /** A secret a client keeps (an activation's proof of possession): 32 random bytes, base64url. */
  secret(): string;
}

let lastMs = 0;
let sequence = 0;

/** Random bytes drawn from the system 4 KiB at a time: one call per 512 ids, not one per id (a lease token per heartbeat needs one). */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomBlock(): Buffer {
  if (poolOffset + 16 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  // A view, not a copy: the caller overwrites part of it and turns it into text at once.
  const block = pool.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  return block;
}

/**
 * UUIDv7 (RFC 9562): a millisecond timestamp, a 12-bit counter and 62 random bits. Ids sort in
 * creation order, so audit events written in the same millisecond still list in the order they
 * happened, and index inserts stay append-only.
 */
export function uuidv7(): string {
  let ms = Date.now();
  if (ms <= lastMs) {
    ms = lastMs;
    sequence++;
    if (sequence > 0xfff) {
      ms = ++lastMs;
      sequence = 0;
    }
  } else {
    sequence = 0;
  }
  lastMs = ms;
  const b = randomBlock();
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (sequence >> 8);
  b[7] = sequence & 0xff;
  b[8] = 0x80 | (b[8]! & 0x3f);
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const randomIds: IdSource = { id: uuidv7, secret: () => randomBytes(32).toString('base64url') };
