/**
 * Update notices (docs/policies.md): the operator publishes a product's latest version, and the
 * minimum one still allowed; heartbeat answers carry them (inside the lease token), and a client
 * that knows its own version (the `version` option) compares. Modelled on the marketplace client
 * SDK's upgrade notice, whose forced flag is our `required`
 * (docs/marketplace.md#9-the-desktop-client-sdks-upgrade-notice).
 */
import { compareVersions, isVersion } from './contract/version';

export interface UpdateNotice {
  /** The latest version the vendor published. */
  readonly latestVersion: string;
  /** The oldest version still allowed to run, or null. */
  readonly minimumVersion: string | null;
  /** This application's version (the `version` option). */
  readonly runningVersion: string;
  /** True when the running version is older than the minimum: the vendor requires the update. */
  readonly required: boolean;
}

/** The notice for `running` against what the server published; null when it is up to date or nothing is known. */
export function updateNotice(running: string | null, published: unknown): UpdateNotice | null {
  if (running === null || typeof published !== 'object' || published === null) return null;
  const { latestVersion, minimumVersion } = published as { latestVersion?: unknown; minimumVersion?: unknown };
  if (!isVersion(latestVersion) || !(minimumVersion === null || minimumVersion === undefined || isVersion(minimumVersion))) return null;
  const minimum = minimumVersion ?? null;
  const required = minimum !== null && compareVersions(running, minimum) < 0;
  if (!required && compareVersions(running, latestVersion) >= 0) return null;
  return Object.freeze({ latestVersion, minimumVersion: minimum, runningVersion: running, required });
}

/** Two notices say the same thing (so an event fires once per change, not once per beat). */
export function sameNotice(a: UpdateNotice | null, b: UpdateNotice | null): boolean {
  return a === b || (a !== null && b !== null && a.latestVersion === b.latestVersion && a.minimumVersion === b.minimumVersion && a.required === b.required);
}
