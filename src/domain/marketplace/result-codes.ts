/**
 * The marketplace's own answer vocabulary. Production interface `resultCode`s
 * (docs/marketplace.md §3.5, §3.6) and the license open API's `error_code`s (§2.6).
 */
export const RESULT_CODES = {
  success: '000000',
  authenticationFailed: '000001',
  invalidParameter: '000002',
  notFound: '000003',
  processing: '000004',
  internalError: '000005',
  noInstanceResource: '000100',
  licenseQuotaExhausted: '000900',
  outsideOrderValidity: '000901',
  /** Never answered: licensor cannot tell a period product from a one-time one (docs/marketplace.md). */
  expiryRequired: '000902',
  deviceFingerprintRequired: '000903',
} as const;

export type ResultCode = (typeof RESULT_CODES)[keyof typeof RESULT_CODES];

export const OPEN_API_CODES = {
  success: '92020000',
  /** §2.6: the same code means "Unauthorized" (403) and "internal error" (500) (§10 gap 9). */
  unauthorizedOrInternal: '92020001',
  invalidParameter: '92020002',
  /** Never answered: licensor has no "buyer received the code" step (docs/marketplace.md). */
  notReceived: '92020004',
  codeNotFound: '92020005',
} as const;

/**
 * Domain error codes with a marketplace meaning of their own. Other errors map by kind
 * (invalid input → 000002, not found → 000003, anything unexpected → 000005).
 */
export const RESULT_FOR_ERROR_CODE: Readonly<Record<string, ResultCode>> = {
  no_instance_resource: RESULT_CODES.noInstanceResource,
  seat_limit_reached: RESULT_CODES.licenseQuotaExhausted,
  outside_order_validity: RESULT_CODES.outsideOrderValidity,
  device_fingerprint_required: RESULT_CODES.deviceFingerprintRequired,
  // A request that cannot apply to the code as it is (renew a released code): the parameters are wrong for it.
  illegal_transition: RESULT_CODES.invalidParameter,
};
