import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * The optional configuration file (`--config` or LICENSOR_CONFIG): a JSON object whose keys are
 * the environment variables' names in camelCase without LICENSOR_ (`port`, `dataDir`,
 * `databaseUrl`, `marketplaceKeys`, …). Values may be strings, numbers, booleans or lists (read
 * as comma-separated). A relative `dataDir` is relative to the file. Read here, validated with
 * the environment in config.ts.
 */
export function readConfigFile(path: string, problems: string[]): Map<string, { key: string; value: string }> {
  const settings = new Map<string, { key: string; value: string }>();
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problems.push(
      code === 'ENOENT'
        ? `config file ${path} does not exist`
        : code
          ? `config file ${path} cannot be read (${code})`
          : `config file ${path} is not valid JSON: ${(err as Error).message}`,
    );
    return settings;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    problems.push(`config file ${path} must hold a JSON object, e.g. { "port": 7300 }`);
    return settings;
  }
  for (const [key, raw] of Object.entries(json)) {
    const value = settingText(raw);
    if (value === null) {
      problems.push(`"${key}" in ${path} must be a string, number, boolean or list of them`);
      continue;
    }
    settings.set(envNameOf(key), { key, value: key === 'dataDir' && value !== '' ? resolve(dirname(path), value) : value });
  }
  return settings;
}

function settingText(raw: unknown): string | null {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  if (typeof raw === 'boolean') return String(raw);
  if (Array.isArray(raw) && raw.every((v) => typeof v === 'string' || typeof v === 'number')) return raw.join(',');
  return null;
}

/** `maxTokenLifetimeDays` → `LICENSOR_MAX_TOKEN_LIFETIME_DAYS`; `databaseUrl` → `DATABASE_URL`. */
function envNameOf(key: string): string {
  if (key === 'databaseUrl') return 'DATABASE_URL';
  return 'LICENSOR_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

/** The reverse of envNameOf, for messages. */
export function fileKeyOf(envName: string): string {
  if (envName === 'DATABASE_URL') return 'databaseUrl';
  return envName
    .replace(/^LICENSOR_/, '')
    .toLowerCase()
    .replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** The known key closest to a misspelt one, when there is a close one. */
export function closestKey(key: string, known: string[]): string | undefined {
  const fromEnvStyle = /^[A-Z0-9_]+$/.test(key) ? fileKeyOf(key) : undefined;
  if (fromEnvStyle && known.includes(fromEnvStyle)) return fromEnvStyle;
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance <= 2 && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}
