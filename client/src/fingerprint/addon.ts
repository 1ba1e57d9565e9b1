/**
 * Loads the native fingerprint addon and gives it types (docs/fingerprint.md#loading-the-addon).
 * The prebuilt binary for this platform comes first (<package>/prebuilds/<platform>-<arch>/,
 * picked by node-gyp-build's rules); a local build (build/Release, what `node-gyp rebuild` makes
 * beside a binding.gyp) is tried only when no prebuild matches or the prebuild does not load.
 * Both are found from the package root, walked up to from this file.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CollectOptions, CollectedFingerprint } from '../contract/fingerprint/types';

export { deviceFingerprint } from '../contract/fingerprint/device-fingerprint';
export type * from '../contract/fingerprint/types';

interface NativeAddon {
  collect(options?: CollectOptions): Promise<CollectedFingerprint>;
  collectSync(options?: CollectOptions): CollectedFingerprint;
}

// Relative to the package root: the prebuilds that ship in the package (prebuildify's place).
const PACKAGE_NAME = '@licensor/client';
const PREBUILDS = 'prebuilds';
const LOCAL_BUILD = join('build', 'Release', 'licensor_fingerprint.node');

/**
 * Where a local build may be: beside the package's own binding.gyp (shipped for machines without
 * a prebuild), and, in the licensor repository the package is developed in, beside the
 * repository's (one level up). Only where a binding.gyp is, so the message names no made-up path.
 */
function localBuilds(root: string): string[] {
  const builds = [root, dirname(root)].filter((dir) => existsSync(join(dir, 'binding.gyp'))).map((dir) => join(dir, LOCAL_BUILD));
  return builds.length > 0 ? builds : [join(root, LOCAL_BUILD)];
}

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

function listing(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Where the system's `ldd` is: glibc's is a script that names the GNU C Library; musl's is musl's loader. */
const LDD = '/usr/bin/ldd';

/**
 * The C library Node runs on. `ldd` says so in a few kilobytes, read first (as detect-libc does):
 * Node's report, which names the glibc the process was loaded with (musl has none), takes
 * milliseconds to write, a large part of a licensed application's first check(), so it is only
 * asked when `ldd` is missing or names neither.
 */
function linuxLibc(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const named = libcNamedBy(readLdd());
  if (named !== undefined || process.report === undefined) return named;
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return header?.glibcVersionRuntime === undefined ? 'musl' : 'glibc';
}

function readLdd(): string {
  try {
    return readFileSync(LDD, 'latin1');
  } catch {
    return '';
  }
}

/** The C library an `ldd`'s contents belong to; undefined when they name neither. */
export function libcNamedBy(ldd: string): 'glibc' | 'musl' | undefined {
  if (ldd.includes('musl')) return 'musl';
  if (ldd.includes('GNU C Library') || ldd.includes('GLIBC')) return 'glibc';
  return undefined;
}

/** What a prebuild's file name says (prebuildify's tags, e.g. `licensor_fingerprint.napi.glibc.node`). */
interface Tags {
  file: string;
  runtime?: string;
  napi: boolean;
  abi?: string;
  uv?: string;
  armv?: string;
  libc?: string;
  specificity: number;
}

function parseTags(file: string): Tags | null {
  const parts = file.split('.');
  if (parts.pop() !== 'node') return null;
  const tags: Tags = { file, napi: false, specificity: 0 };
  for (const tag of parts) {
    if (tag === 'node' || tag === 'electron' || tag === 'node-webkit') tags.runtime = tag;
    else if (tag === 'napi') tags.napi = true;
    else if (tag.startsWith('abi')) tags.abi = tag.slice(3);
    else if (tag.startsWith('uv')) tags.uv = tag.slice(2);
    else if (tag.startsWith('armv')) tags.armv = tag.slice(4);
    else if (tag === 'glibc' || tag === 'musl') tags.libc = tag;
    else continue;
    tags.specificity += 1;
  }
  return tags;
}

/**
 * The prebuilds this process can load, best first, by node-gyp-build's rules: a
 * `<platform>-<arch>[+<arch>…]` directory (single-arch first), then files whose tags all fit
 * (runtime, Node-API or this ABI, libuv, ARM version, libc), the runtime's own and the most
 * specific first. `wanted()` describes this process for the error message.
 */
function matchingPrebuilds(prebuilds: string): { paths: string[]; wanted: () => string } {
  const runtime = process.versions.electron !== undefined ? 'electron' : 'node';
  const uv = (process.versions.uv ?? '').split('.')[0];
  const armv = process.arch === 'arm64' ? '8' : undefined;
  let libc: string | undefined | null = null; // null: not looked up yet (it costs a report)
  const libcOf = () => (libc === null ? (libc = linuxLibc()) : libc);

  const fits = (tags: Tags): boolean =>
    (tags.runtime === undefined || tags.runtime === runtime || (tags.runtime === 'node' && tags.napi)) &&
    (tags.abi === undefined || tags.abi === process.versions.modules || tags.napi) &&
    (tags.uv === undefined || tags.uv === uv) &&
    (tags.armv === undefined || tags.armv === armv) &&
    (tags.libc === undefined || libcOf() === undefined || tags.libc === libcOf());
  const better = (a: Tags, b: Tags): number =>
    Number(b.runtime === runtime) - Number(a.runtime === runtime) || Number(b.abi !== undefined) - Number(a.abi !== undefined) || b.specificity - a.specificity;

  const tuples = listing(prebuilds)
    .map((name) => ({ name, parts: name.split('-') }))
    .filter(({ parts }) => parts.length === 2 && parts[0] === process.platform && parts[1]!.split('+').includes(process.arch))
    .sort((a, b) => a.parts[1]!.split('+').length - b.parts[1]!.split('+').length);
  const paths = tuples.flatMap(({ name }) =>
    listing(join(prebuilds, name))
      .map(parseTags)
      .filter((tags): tags is Tags => tags !== null && fits(tags))
      .sort(better)
      .map((tags) => join(prebuilds, name, tags.file)),
  );
  const wanted = () => {
    const flavour = [libcOf(), process.versions.electron === undefined ? undefined : 'electron'].filter(Boolean);
    return `${process.platform}-${process.arch}${flavour.length > 0 ? ` (${flavour.join(', ')})` : ''}`;
  };
  return { paths, wanted };
}

/** The first line of a load failure, without the path dlopen repeats in front of it. */
function reasonOf(path: string, cause: unknown): string {
  return (cause instanceof Error ? cause.message : String(cause)).split('\n')[0]!.replace(`${path}: `, '');
}

// One message for every way loading can fail: what was tried, why each failed, the fix (as sharp does).
function loadError(root: string | null, tried: string[], causes: unknown[]): Error {
  const where = root ?? `the ${PACKAGE_NAME} package directory`;
  return new Error(
    `licensor: the native fingerprint addon could not be loaded on ${process.platform}-${process.arch}, Node ${process.version}.\n` +
      `Tried:\n${tried.map((line) => `  ${line}\n`).join('')}` +
      'Prebuilt binaries ship for linux-x64 and linux-arm64 (glibc) and win32-x64. Anywhere else ' +
      '(musl/Alpine, macOS, another CPU), or when the prebuild does not load, build the addon on this machine:\n' +
      `  npm install --save-dev node-gyp node-addon-api && (cd ${where} && npx node-gyp rebuild)\n` +
      'which needs python3, make and a C++17 compiler (Debian/Ubuntu: apt-get install python3 make g++; ' +
      'Alpine: apk add python3 make g++ linux-headers; macOS: xcode-select --install; Windows: Visual ' +
      'Studio Build Tools with "Desktop development with C++").',
    causes.length === 0 ? undefined : { cause: causes.length === 1 ? causes[0] : new AggregateError(causes) },
  );
}

let addon: NativeAddon | undefined;

function native(): NativeAddon {
  if (addon !== undefined) return addon;
  const root = packageRoot(__dirname);
  if (root === null) throw loadError(null, [`no package.json named ${PACKAGE_NAME} above ${__dirname}`], []);

  const tried: string[] = [];
  const causes: unknown[] = [];
  const prebuilds = join(root, PREBUILDS);
  const { paths, wanted } = matchingPrebuilds(prebuilds);
  // Said only when nothing loads: naming this process's C library can cost a report (linuxLibc).
  const noPrebuild = () => {
    const shipped = listing(prebuilds).flatMap((tuple) => listing(join(prebuilds, tuple)).map((file) => `${tuple}/${file}`));
    return `${prebuilds}: no prebuild for ${wanted()}${shipped.length > 0 ? ` (it holds ${shipped.join(', ')})` : ' (none there)'}`;
  };
  for (const path of [...paths, ...localBuilds(root)]) {
    if (!existsSync(path)) {
      tried.push(`${path}: does not exist`);
      continue;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- native modules load through require
      addon = require(path) as NativeAddon;
      return addon;
    } catch (cause) {
      tried.push(`${path}: ${reasonOf(path, cause)}`);
      causes.push(cause);
    }
  }
  throw loadError(root, paths.length === 0 ? [noPrebuild(), ...tried] : tried, causes);
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
