/**
 * Loads the native fingerprint addon (build/Release/licensor_fingerprint.node) and gives it
 * types. The binary is found by walking up from this file to the package root, so the same
 * code works from the TypeScript sources and from dist/client/fingerprint/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CollectOptions, CollectedFingerprint } from './types';

export { deviceFingerprint } from './device-fingerprint';
export type * from './types';

interface NativeAddon {
  collect(options?: CollectOptions): Promise<CollectedFingerprint>;
  collectSync(options?: CollectOptions): CollectedFingerprint;
}

const PACKAGE_NAME = 'licensor';
const BINARY = join('build', 'Release', 'licensor_fingerprint.node');

function packageRoot(start: string): string | null {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return dir;
      } catch {
        // An unreadable manifest on the way up is not ours; keep walking.
      }
    }
    if (dirname(dir) === dir) return null;
  }
}

// One message for every way loading can fail, naming the fix (as sharp and @parcel/watcher do).
function loadError(path: string | null, cause?: unknown): Error {
  const reason =
    path === null
      ? `could not find the ${PACKAGE_NAME} package root above ${__dirname}`
      : cause === undefined
        ? `${path} does not exist (the native build did not run or failed)`
        : `${path} failed to load: ${cause instanceof Error ? cause.message : String(cause)}`;
  return new Error(
    `licensor: the native fingerprint addon is not available: ${reason}.\n` +
      'It is compiled from source when the package is installed, which needs python3, make and a C++17 ' +
      'compiler (g++ or clang++; on Debian/Ubuntu: apt-get install python3 make g++; on macOS: ' +
      'xcode-select --install; on Windows: Visual Studio Build Tools with "Desktop development with C++").\n' +
      `Then rebuild it: npm rebuild ${PACKAGE_NAME}  (or, inside the package: npx node-gyp rebuild).`,
    cause === undefined ? undefined : { cause },
  );
}

let addon: NativeAddon | undefined;

function native(): NativeAddon {
  if (addon !== undefined) return addon;
  const root = packageRoot(__dirname);
  const path = root === null ? null : join(root, BINARY);
  if (path === null || !existsSync(path)) throw loadError(path);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- native modules load through require
    addon = require(path) as NativeAddon;
  } catch (cause) {
    throw loadError(path, cause);
  }
  return addon;
}

/**
 * Reads this machine's fingerprint components off the main thread (a libuv worker).
 * Machine conditions are component statuses, never rejections; a missing addon or bad options
 * reject (TypeError for options) like any other async failure.
 */
export async function collect(options?: CollectOptions): Promise<CollectedFingerprint> {
  const binding = native();
  return options === undefined ? binding.collect() : binding.collect(options);
}

/** Same as `collect`, on the calling thread (well under a millisecond on Linux). */
export function collectSync(options?: CollectOptions): CollectedFingerprint {
  const binding = native();
  return options === undefined ? binding.collectSync() : binding.collectSync(options);
}
