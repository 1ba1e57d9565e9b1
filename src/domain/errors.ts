/**
 * Errors are values with a stable machine code. One mapper (src/http/error-response.ts)
 * turns the kind into an HTTP status; the marketplace layer maps them to its own result codes.
 */
export type ErrorKind =
  | 'invalid_input'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'rate_limited'
  | 'unsupported_media'
  | 'unavailable';

export class LicensorError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidInput extends LicensorError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super('invalid_input', code, message, details);
  }
}

export class Unauthorized extends LicensorError {
  constructor(code: string, message: string) {
    super('unauthorized', code, message);
  }
}

export class Forbidden extends LicensorError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super('forbidden', code, message, details);
  }
}

export class NotFound extends LicensorError {
  constructor(code: string, message: string) {
    super('not_found', code, message);
  }
}

export class Conflict extends LicensorError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super('conflict', code, message, details);
  }
}

export class IllegalTransition extends Conflict {
  constructor(from: string, action: string) {
    super('illegal_transition', `cannot ${action} a code that is ${from}`, { from, action });
  }
}

export class SeatLimitReached extends Conflict {
  constructor(seats: number) {
    super('seat_limit_reached', `all ${seats} seat(s) of this code are in use`, { seats });
  }
}

/** docs/policies.md: too many activations + deactivations of one code within the churn period. */
export class ChurnLimitReached extends LicensorError {
  constructor(limit: number, periodSeconds: number, resetsAt: number, now: number) {
    const retryAfterSeconds = Math.max(1, Math.ceil((resetsAt - now) / 1000));
    super('rate_limited', 'churn_limit_reached', `this code allows ${limit} activation(s) + deactivation(s) per ${periodSeconds} s; the next is possible at ${new Date(resetsAt).toISOString()}`, {
      limit,
      periodSeconds,
      resetsAt: new Date(resetsAt).toISOString(),
      retryAfterSeconds,
    });
  }
}

/** docs/policies.md: "N machines, M at a time" — all M in-use slots are held by other machines. */
export class ConcurrencyLimitReached extends Conflict {
  constructor(concurrent: number, freesAt: number | null) {
    super('concurrency_limit_reached', `all ${concurrent} in-use slot(s) of this code are held by other machines`, {
      concurrent,
      freesAt: freesAt === null ? null : new Date(freesAt).toISOString(),
    });
  }
}

export class FingerprintMismatch extends Forbidden {
  constructor(reason: string) {
    super('fingerprint_mismatch', 'this machine does not match the activation', { reason });
  }
}

export class Unavailable extends LicensorError {
  constructor(code: string, message: string) {
    super('unavailable', code, message);
  }
}
