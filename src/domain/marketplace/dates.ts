/**
 * Marketplace times are UTC wall-clock strings (docs/marketplace.md §3.5, §3.6):
 * `yyyyMMddHHmmss`, or the 17-digit form with milliseconds that the refreshInstance example carries
 * (§10 gap 4); getLicenseAsync's example writes `2023-10-27 10:30:15 z`.
 */

const COMPACT = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})?$/;
const SEPARATED = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?:\s*[zZ])?$/;

function utc(parts: string[]): number | null {
  const [y, mo, d, h, mi, s] = parts.slice(0, 6).map(Number) as [number, number, number, number, number, number];
  const ms = parts[6] ? Number(parts[6].padEnd(3, '0')) : 0;
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  // Date.UTC rolls 2024-02-30 over into March: a date that does not round-trip does not exist.
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  if (back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== s) return null;
  return t;
}

/** `yyyyMMddHHmmss` or `yyyyMMddHHmmssSSS` (UTC) to epoch ms; null for anything else. */
export function parseMarketplaceTime(text: string): number | null {
  const m = COMPACT.exec(text.trim());
  return m ? utc(m.slice(1).filter((p) => p !== undefined)) : null;
}

/** The compact forms, or `yyyy-MM-dd HH:mm:ss[.SSS][ z]` (UTC), to epoch ms; null for anything else. */
export function parseLooseMarketplaceTime(text: string): number | null {
  const compact = parseMarketplaceTime(text);
  if (compact !== null) return compact;
  const m = SEPARATED.exec(text.trim());
  return m ? utc(m.slice(1).filter((p) => p !== undefined)) : null;
}

/** Epoch ms to `yyyyMMddHHmmss` (UTC). */
export function formatMarketplaceTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** Epoch ms to the UTC day `YYYY-MM-DD` (usage reports are per day). */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
