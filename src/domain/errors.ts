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
  | 'gone'
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
