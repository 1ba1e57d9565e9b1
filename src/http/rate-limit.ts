import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Request } from 'express';
import type { Config } from '../config';
import type { Clock } from '../domain/clock';
import { foldCodeInput } from '../domain/authorization-code';
import { LicensorError } from '../domain/errors';
import type { BudgetRule, GuessBudgetStore } from '../domain/ports';

type GuardScope = 'address' | 'code' | 'server';

const REFUSAL: Record<GuardScope, string> = {
  address: 'too many failed attempts from this address',
  code: 'too many attempts on this code',
  server: 'too many failed attempts on this server from all addresses together',
};

class TooManyAttempts extends LicensorError {
  constructor(
    readonly retryAfterSeconds: number,
    scope: GuardScope,
  ) {
    super('rate_limited', 'too_many_attempts', `${REFUSAL[scope]}; try again in ${retryAfterSeconds} s`, { retryAfterSeconds, scope });
  }
}

/** The limits, as configured (src/config/settings.ts). */
type GuardLimits = Config['guessLimits'];

/** Refusals that mean "this is not a code we know": what a guesser produces. */
const GUESS_FAILURES = new Set(['code_not_found', 'malformed_code', 'invalid_request']);

/** Budgets count whole milliseconds between attempts (at most 60,000 a minute). */
const interval = (perMinute: number) => Math.max(1, Math.round(60_000 / perMinute));

/**
 * Slows down guessing authorization codes (docs/reliability.md). An address is charged only for
 * failed lookups, so a legitimate client (or a whole NAT of them) that types its code right is
 * never slowed; all addresses together are charged the same way, so many addresses get one budget
 * between them; a code is charged for every attempt, so one code cannot be hammered from many addresses.
 *
 * The charge is taken before the lookup and given back when it found a code: parallel guesses
 * cannot all pass the check before the first of them is charged. The budgets live in a
 * GuessBudgetStore: a table shared by every server process on PostgreSQL, memory on SQLite.
 */
export class CodeGuessGuard {
  private readonly global: BudgetRule;

  constructor(
    private readonly limits: GuardLimits,
    private readonly clock: Clock,
    private readonly budgets: GuessBudgetStore,
  ) {
    this.global = { key: 'g', intervalMs: interval(limits.globalFailuresPerMinute), burst: limits.globalFailureBurst };
  }

  /**
   * Takes the attempt from the budgets of the address, of all addresses and of `code` (a codeKey,
   * or null to charge the address only), runs the lookup, and gives the failure budgets back
   * unless it failed the way a guess fails. Throws TooManyAttempts, before any lookup, when a budget is spent.
   */
  async run<T>(address: string, code: string | null, work: () => Promise<T>): Promise<T> {
    const failures: BudgetRule[] = [
      { key: `a:${addressKey(address)}`, intervalMs: interval(this.limits.failuresPerMinute), burst: this.limits.failureBurst },
      this.global,
    ];
    const rules =
      code === null
        ? failures
        : [...failures, { key: `c:${digest(code)}`, intervalMs: interval(this.limits.codeAttemptsPerMinute), burst: this.limits.codeBurst }];
    const refused = await this.budgets.take(rules, this.clock.now());
    if (refused.length > 0) {
      const first = refused[0]!;
      // One interval is when the spent budget has its next attempt again, at the latest.
      throw new TooManyAttempts(
        Math.max(1, Math.ceil(first.intervalMs / 1000)),
        first === this.global ? 'server' : first.key.startsWith('c:') ? 'code' : 'address',
      );
    }
    let result: T;
    try {
      result = await work();
    } catch (err) {
      if (!(err instanceof LicensorError && GUESS_FAILURES.has(err.code))) this.giveBack(failures);
      throw err;
    }
    this.giveBack(failures);
    return result;
  }

  /**
   * Not waited for: the answer does not depend on it, and on PostgreSQL it is a round trip of its
   * own (docs/performance.md#where-an-activations-time-goes). One that fails (the database away)
   * costs the address one attempt, never the answer.
   */
  private giveBack(failures: BudgetRule[]): void {
    this.budgets.giveBack(failures, this.clock.now()).catch(() => undefined);
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

/** 128 bits of SHA-256, base64url: a short key of fixed alphabet, which keeps codes (and whatever a guesser sends) out of the budgets table. */
function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/**
 * What an address is counted as: an IPv4 address itself (also when written IPv4-mapped), an IPv6
 * address by its /64 (one subscriber's whole prefix: one budget), anything else (a forwarded value
 * that is no address) by a digest, so the key stays short.
 */
function addressKey(address: string): string {
  const bare = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return mapped[1]!;
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family === 6) return `${ipv6Groups(bare).slice(0, 4).join(':')}::/64`;
  return `?${digest(address)}`;
}

/** The eight 16-bit groups of a valid IPv6 address, in lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  let text = address.toLowerCase();
  // A trailing dotted IPv4 part is two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => parseInt(g, 16).toString(16));
}
