/**
 * Errors are values with a stable machine code. One mapper (src/http/error-response.ts)
 * turns the kind into an HTTP status; the marketplace layer maps them to its own result codes.
 */
export type ErrorKind = 'invalid_input' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'rate_limited' | 'unsupported_media' | 'unavailable';

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
    super(
      'rate_limited',
      'churn_limit_reached',
      `this code allows ${limit} activation(s) + deactivation(s) per ${periodSeconds} s; the next is possible at ${new Date(resetsAt).toISOString()}`,
      {
        limit,
        periodSeconds,
        resetsAt: new Date(resetsAt).toISOString(),
        retryAfterSeconds,
      },
    );
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

/**
 * The fingerprint a holder sent changes what its enrolment may not (docs/fingerprint.md "Drift,
 * re-enrolment and clones"): an anchor, several components at once, or a second change in the window.
 */
export class FingerprintChanged extends Conflict {
  constructor(reason: 'anchor_changed' | 'too_many_changes' | 'changed_recently', components: string[], retryAt?: number) {
    const text = {
      anchor_changed: `${components.join(', ')} changed: a part that identifies a machine is never re-enrolled. If this is the same machine with a replaced part, deactivate its activation and activate again`,
      too_many_changes: `${components.length} components changed at once (${components.join(', ')}): a machine's fingerprint may change one component at a time`,
      changed_recently: `${components.join(', ')} changed, but this machine's fingerprint already changed recently: the next change is accepted from ${new Date(retryAt ?? 0).toISOString()}`,
    }[reason];
    super('fingerprint_changed', text, { reason, components, ...(retryAt === undefined ? {} : { retryAt: new Date(retryAt).toISOString() }) });
  }
}

/** Beats of two machines took turns on one activation: it is suspended as a clone. */
export class ActivationCloned extends Conflict {
  constructor(since: number) {
    super(
      'activation_cloned',
      'heartbeats of this activation came from two machines in turn, so it is suspended as a clone; deactivate it and activate each machine with a seat of its own',
      { since: new Date(since).toISOString() },
    );
  }
}

export class Unavailable extends LicensorError {
  constructor(code: string, message: string) {
    super('unavailable', code, message);
  }
}
