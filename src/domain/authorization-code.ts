import { randomBytes } from 'node:crypto';
import { InvalidInput } from './errors';

/**
 * Authorization codes use Crockford's base32 alphabet (no I, L, O, U), 25 symbols = 125 bits
 * of randomness, shown in five groups of five. Lookups ignore case, dashes and spaces, and read
 * the look-alikes O as 0 and I/L as 1, so a code typed from paper still matches.
 */
export const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_LENGTH = 25;
const GROUP = 5;

export function generateAuthorizationCode(random: (n: number) => Buffer = randomBytes): string {
  // 32 symbols divide 256 evenly, so `byte & 31` is unbiased.
  const bytes = random(CODE_LENGTH);
  let out = '';
  for (let i = 0; i < CODE_LENGTH; i++) out += CODE_ALPHABET[bytes[i]! & 31];
  return out;
}

/** Typed input as a lookup reads it: separators dropped, upper case, look-alikes (O, I, L) read as digits. */
export function foldCodeInput(input: string): string {
  return input
    .replace(/[\s-]+/g, '')
    .toUpperCase()
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
}

/** Canonical stored form, or throws for input that can never be a code. */
export function normalizeAuthorizationCode(input: string): string {
  const cleaned = foldCodeInput(input);
  if (cleaned.length !== CODE_LENGTH || ![...cleaned].every((c) => CODE_ALPHABET.includes(c))) {
    throw new InvalidInput('malformed_code', 'an authorization code is 25 letters and digits, e.g. ABCDE-FGHJK-MNPQR-STVWX-YZ234');
  }
  return cleaned;
}

/**
 * A stored code is licensor's own when it is 25 symbols of the alphabet; anything else was made by
 * the marketplace (its License 2.0 codes, docs/marketplace.md "Codes the marketplace made") and is
 * kept, shown and matched exactly as the marketplace wrote it.
 */
function isLicensorCode(stored: string): boolean {
  return stored.length === CODE_LENGTH && [...stored].every((c) => CODE_ALPHABET.includes(c));
}

/** How a code the marketplace made is stored and looked up: trimmed, 1–64 printable ASCII characters without spaces; null for anything else. */
export function marketplaceCodeForm(input: string): string | null {
  const trimmed = input.trim();
  return /^[\x21-\x7e]{1,64}$/.test(trimmed) ? trimmed : null;
}

/** A stored code as people read it: licensor's in five groups, the marketplace's as it wrote it. */
export function displayCode(stored: string): string {
  return isLicensorCode(stored) ? formatAuthorizationCode(stored) : stored;
}

export function formatAuthorizationCode(normalized: string): string {
  const groups: string[] = [];
  for (let i = 0; i < normalized.length; i += GROUP) groups.push(normalized.slice(i, i + GROUP));
  return groups.join('-');
}

/** Enough to recognise a code in logs and tables without revealing it. */
export function codeHint(normalized: string): string {
  return `${normalized.slice(0, 4)}…${normalized.slice(-2)}`;
}
