import type { Request } from 'express';
import type { Clock } from '../domain/clock';
import { foldCodeInput } from '../domain/authorization-code';
import { LicensorError } from '../domain/errors';

/** A refilling budget per key; the oldest keys are forgotten first so memory stays bounded. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly burst: number,
    private readonly clock: Clock,
    private readonly maxKeys = 100_000,
  ) {}

  private current(key: string): { tokens: number; at: number } {
    const now = this.clock.now();
    const bucket = this.buckets.get(key);
    if (!bucket) return { tokens: this.burst, at: now };
    const refilled = Math.min(this.burst, bucket.tokens + ((now - bucket.at) * this.perMinute) / 60_000);
    return { tokens: refilled, at: now };
  }

  /** Seconds until one token is available; 0 when one is available now. */
  waitSeconds(key: string): number {
    const { tokens } = this.current(key);
    return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) * 60) / this.perMinute);
  }

  take(key: string): void {
    const bucket = this.current(key);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
  }
}

export class TooManyAttempts extends LicensorError {
  constructor(readonly retryAfterSeconds: number, scope: 'address' | 'code') {
    super(
      'rate_limited',
      'too_many_attempts',
      scope === 'address'
        ? `too many failed attempts from this address; try again in ${retryAfterSeconds} s`
        : `too many attempts on this code; try again in ${retryAfterSeconds} s`,
      { retryAfterSeconds, scope },
    );
  }
}

export interface GuardLimits {
  /** Failed code lookups per client address per minute (and the burst allowed at once). */
  failuresPerMinute: number;
  failureBurst: number;
  /** Attempts on any one code per minute, whatever their outcome (and the burst). */
  codeAttemptsPerMinute: number;
  codeBurst: number;
}

/** Refusals that mean "this is not a code we know": what a guesser produces. */
const GUESS_FAILURES = new Set(['code_not_found', 'malformed_code', 'invalid_request']);

/**
 * Slows down guessing authorization codes. An address is charged only for failed lookups, so a
 * legitimate client (or a whole NAT of them) that types its code right is never slowed; a code
 * is charged for every attempt, so one code cannot be hammered from many addresses. Limits are
 * per server process (documented in docs/reliability.md).
 */
export class CodeGuessGuard {
  private readonly failures: TokenBuckets;
  private readonly attempts: TokenBuckets;

  constructor(limits: GuardLimits, clock: Clock) {
    this.failures = new TokenBuckets(limits.failuresPerMinute, limits.failureBurst, clock);
    this.attempts = new TokenBuckets(limits.codeAttemptsPerMinute, limits.codeBurst, clock);
  }

  /** Throws TooManyAttempts when the address or the code has used its budget. */
  private admit(address: string, code: string | null): void {
    const addressWait = this.failures.waitSeconds(address);
    if (addressWait > 0) throw new TooManyAttempts(addressWait, 'address');
    if (code !== null) {
      const codeWait = this.attempts.waitSeconds(code);
      if (codeWait > 0) throw new TooManyAttempts(codeWait, 'code');
      this.attempts.take(code);
    }
  }

  /** Charges the address when the attempt failed the way a guess fails. */
  private settle(address: string, err: unknown): void {
    if (err instanceof LicensorError && GUESS_FAILURES.has(err.code)) this.failures.take(address);
  }

  /** Admits an attempt on `code` (a codeKey, or null to charge failures to the address only), runs it and settles its outcome. */
  async run<T>(address: string, code: string | null, work: () => Promise<T>): Promise<T> {
    this.admit(address, code);
    try {
      return await work();
    } catch (err) {
      this.settle(address, err);
      throw err;
    }
  }
}

/** The client's address: the socket's, or the first X-Forwarded-For hop when a proxy is trusted. */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/** The code as a guard key, folded as lookups fold it: no spelling that finds the same code gets a budget of its own. */
export function codeKey(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const key = foldCodeInput(raw);
  return key.length > 0 && key.length <= 64 ? key : null;
}
