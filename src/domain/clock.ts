import { randomUUID } from 'node:crypto';

/** Time and randomness are injected so expiry, leases and culling are testable without sleeping. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface IdSource {
  id(): string;
}

export const randomIds: IdSource = { id: () => randomUUID() };
