/**
 * Air-gapped activation (docs/client.md#air-gapped-activation): the two files that cross the air
 * gap. The client writes an activation request; the operator's `licensor offline respond` answers
 * with a license file; the client imports it. The server reads and writes these shapes too (this
 * module is shared, like fingerprint matching), so both sides agree on one definition.
 */
import type { FingerprintHashes } from './fingerprint/components';

export const ACTIVATION_REQUEST_FORMAT = 'licensor-activation-request';
export const LICENSE_FILE_FORMAT = 'licensor-license-file';

/** What the client writes: hashes only, never raw serials. */
export interface ActivationRequestFile {
  format: typeof ACTIVATION_REQUEST_FORMAT;
  v: 1;
  product: string;
  code: string;
  fingerprint: FingerprintHashes;
  environment: Record<string, string | boolean | null>;
  createdAt: string;
}

/** What the operator's CLI writes: a lease token with a long lease, plus facts for people. */
export interface LicenseFile {
  format: typeof LICENSE_FILE_FORMAT;
  v: 1;
  product: string;
  activationId: string;
  token: string;
  /** Informational copies of the token's claims; the client trusts only the signed token. */
  leaseEndsAt: string;
  licenseExpiresAt: string;
  issuedAt: string;
}

export function buildActivationRequest(
  product: string,
  code: string,
  fingerprint: FingerprintHashes,
  environment: Record<string, string | boolean | null>,
  now: number,
): ActivationRequestFile {
  return { format: ACTIVATION_REQUEST_FORMAT, v: 1, product, code, fingerprint, environment, createdAt: new Date(now).toISOString() };
}

/** The token of a license file, or a message saying why the text is not one. */
export function parseLicenseFile(text: string): { ok: true; file: LicenseFile } | { ok: false; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: 'the license file is not valid JSON (truncated or not a licensor license file)' };
  }
  const file = value as Partial<LicenseFile> | null;
  if (typeof file !== 'object' || file === null || file.format !== LICENSE_FILE_FORMAT || file.v !== 1) {
    return { ok: false, message: `the file is not a licensor license file (format "${LICENSE_FILE_FORMAT}", v 1)` };
  }
  if (typeof file.token !== 'string' || file.token === '' || typeof file.product !== 'string') {
    return { ok: false, message: 'the license file has no token or product' };
  }
  return { ok: true, file: file as LicenseFile };
}
