import { join, resolve } from 'node:path';
import type { KeyAlgorithm } from './domain/types';

/** One typed configuration, built and validated once at start; nothing else reads process.env. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** postgres://… ; undefined means the embedded SQLite file in dataDir. */
  databaseUrl: string | undefined;
  sqliteFile: string;
  /** From LICENSOR_ADMIN_TOKEN; when absent the runtime generates one and keeps it in dataDir. */
  adminToken: string | undefined;
  issuer: string;
  keyAlgorithm: KeyAlgorithm;
  maxTokenLifetimeMs: number;
  sweepIntervalMs: number;
  releaseExpiredAfterMs: number | null;
  heartbeatFlushMs: number;
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const DAY = 86_400_000;

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };

  const dataDir = resolve(cwd, env.LICENSOR_DATA_DIR || 'data');
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must start with postgres:// (leave it unset for the embedded SQLite database)');
  }
  const keyAlgorithm = (env.LICENSOR_KEY_ALG || 'EdDSA') as KeyAlgorithm;
  if (keyAlgorithm !== 'EdDSA' && keyAlgorithm !== 'ES256') problems.push('LICENSOR_KEY_ALG must be EdDSA or ES256');
  const adminToken = env.LICENSOR_ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && adminToken.length < 16) problems.push('LICENSOR_ADMIN_TOKEN must be at least 16 characters');
  const releaseDays = int('LICENSOR_RELEASE_EXPIRED_AFTER_DAYS', 0, 0, 36_500);

  const config: Config = {
    port: int('LICENSOR_PORT', 7300, 0, 65_535),
    host: env.LICENSOR_HOST || '127.0.0.1',
    dataDir,
    databaseUrl,
    sqliteFile: join(dataDir, 'licensor.db'),
    adminToken,
    issuer: env.LICENSOR_ISSUER || 'licensor',
    keyAlgorithm,
    maxTokenLifetimeMs: int('LICENSOR_MAX_TOKEN_LIFETIME_DAYS', 400, 1, 3650) * DAY,
    sweepIntervalMs: int('LICENSOR_SWEEP_INTERVAL_SECONDS', 30, 1, 86_400) * 1000,
    releaseExpiredAfterMs: releaseDays === 0 ? null : releaseDays * DAY,
    heartbeatFlushMs: int('LICENSOR_HEARTBEAT_FLUSH_MS', 1000, 10, 60_000),
    logLevel: env.LICENSOR_LOG_LEVEL || 'info',
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
