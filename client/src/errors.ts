/**
 * The one error type the client throws (from `activate`, `deactivate`, `importLicenseFile`,
 * `createActivationRequest`; `check()` never throws). `code` is the server's stable error code
 * when the server refused (docs/server.md "Errors": `code_not_found`, `seat_limit_reached`,
 * `illegal_transition`, …) or one of the client's own:
 * `server_unreachable`, `bad_response`, `untrusted_key`, `bad_token`, `wrong_product`,
 * `fingerprint_mismatch`, `fingerprint_unavailable`, `no_license`, `invalid_license_file`,
 * `no_server`.
 */
export class LicenseClientError extends Error {
  /** The HTTP status when the server answered; undefined for local and network failures. */
  readonly status: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    readonly code: string,
    message: string,
    options: { status?: number; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LicenseClientError';
    this.status = options.status;
    this.details = options.details;
  }

  /** True when trying again later may help: no answer, a server failure, or rate limiting. */
  get retryable(): boolean {
    return this.code === 'server_unreachable' || this.status === 429 || (this.status !== undefined && this.status >= 500);
  }
}
