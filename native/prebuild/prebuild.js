#!/usr/bin/env node
// @ts-check
/**
 * Builds the prebuilt Node-API binaries of the fingerprint addon (docs/fingerprint.md#prebuilt-binaries):
 *
 *   npm run prebuilds                                  every target
 *   node native/prebuild/prebuild.js win32-x64 ...     some of them
 *
 * Each lands in client/prebuilds/<platform>-<arch>/<target_name>.napi[.glibc].node, the layout
 * and file names prebuildify writes and node-gyp-build (and client/src/fingerprint/addon.ts) read.
 * Sources, defines and libraries come from binding.gyp, so the source list lives in one place.
 * Node-API only: one binary per platform serves every Node version and Electron.
 */
'use strict';

const { spawn } = require('node:child_process');
const { copyFileSync, mkdirSync, readFileSync, rmSync, statSync } = require('node:fs');
const { availableParallelism } = require('node:os');
const { basename, dirname, join, relative, resolve } = require('node:path');
const { glibcNeeded } = require('./glibc-needed');

const ROOT = resolve(__dirname, '..', '..');
const OUT = join(ROOT, 'client', 'prebuilds');
const WORK = join(ROOT, 'build', 'prebuild');

const headers = require('node-api-headers');
const ADDON_API = dirname(require.resolve('node-addon-api/package.json'));

/**
 * @typedef {{
 *   os: 'linux' | 'win', cxx: string, debianPackage: string, file: string,
 *   extraSources: string[], compileFlags: string[], linkFlags: string[],
 *   importLibrary?: (dir: string) => Promise<string[]>,
 * }} Target
 */

/** @param {'x64' | 'arm64'} arch @param {string} triplet @param {string} debianPackage @returns {Target} */
function linux(arch, triplet, debianPackage) {
  const native = process.platform === 'linux' && process.arch === arch;
  return {
    os: 'linux',
    cxx: native ? 'g++' : `${triplet}-g++`,
    debianPackage: native ? 'g++' : debianPackage,
    // Tagged glibc: node-gyp-build and our loader skip it on musl (Alpine), which needs a local build.
    file: 'napi.glibc.node',
    extraSources: ['native/prebuild/glibc_floor.cc'],
    compileFlags: ['-fPIC', '-fvisibility=hidden'],
    linkFlags: [
      '-shared',
      // libstdc++ inside the binary (customers' libstdc++ is older than GCC 12's); libgcc_s stays
      // shared: Node itself links it, and its static twin needs glibc 2.35 (_dl_find_object).
      '-static-libstdc++',
      '-Wl,--exclude-libs,ALL',
      '-Wl,--as-needed',
      '-Wl,-z,noexecstack',
      '-Wl,--wrap=stat,--wrap=pthread_once',
      '-s',
    ],
  };
}

/** @type {Record<string, Target>} */
const TARGETS = {
  'linux-x64': linux('x64', 'x86_64-linux-gnu', 'g++-x86-64-linux-gnu'),
  'linux-arm64': linux('arm64', 'aarch64-linux-gnu', 'g++-aarch64-linux-gnu'),
  'win32-x64': {
    os: 'win',
    // The POSIX-threads variant: node-addon-api needs std::mutex, which the win32 variant lacks.
    cxx: 'x86_64-w64-mingw32-g++-posix',
    debianPackage: 'g++-mingw-w64-x86-64-posix',
    file: 'napi.node',
    extraSources: ['native/prebuild/win_delay_load_hook.cc'],
    compileFlags: [],
    // The MinGW runtime inside the DLL: no libstdc++-6.dll or libwinpthread-1.dll to ship.
    linkFlags: ['-shared', '-static', '-static-libgcc', '-static-libstdc++', '-s'],
    // Node-API comes from the host executable, imported lazily so the hook can name it.
    async importLibrary(dir) {
      const library = join(dir, 'node_api_delay.a');
      await run('x86_64-w64-mingw32-dlltool', ['-d', headers.def_paths.node_api_def, '-y', library, '-D', 'node.exe'], 'binutils-mingw-w64-x86-64');
      return [library, '-ldelayimp'];
    },
  },
};

/** What binding.gyp says about the addon on `os`. @param {'linux' | 'win'} os */
function fromBindingGyp(os) {
  const gyp = join(ROOT, 'binding.gyp');
  let target;
  try {
    target = JSON.parse(readFileSync(gyp, 'utf8')).targets[0];
  } catch (cause) {
    throw new Error(`${gyp} must stay plain JSON (no comments) for native/prebuild to read it`, { cause });
  }
  /** @type {Record<string, any>[]} */
  const matching = (target.conditions ?? [])
    .filter((/** @type {[string, unknown]} */ [test]) => test === `OS=='${os}'`)
    .map((/** @type {[string, Record<string, any>]} */ [, body]) => body);
  /** @param {string} key @returns {string[]} */
  const all = (key) => [...(target[key] ?? []), ...matching.flatMap((body) => body[key] ?? [])];
  return {
    name: /** @type {string} */ (target.target_name),
    sources: all('sources'),
    defines: all('defines'),
    cflags: /** @type {string[]} */ (target.cflags_cc ?? []),
    libraries: all('libraries').map((library) => `-l${library.replace(/\.lib$/, '')}`),
  };
}

/** @param {string} command @param {string[]} args @param {string} debianPackage */
function run(command, args, debianPackage) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', (error) =>
      reject(
        /** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT'
          ? new Error(`${command} is not installed; on Debian: apt-get install --no-install-recommends ${debianPackage}`)
          : error,
      ),
    );
    child.once('exit', (code) => (code === 0 ? resolvePromise(undefined) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

/** Runs `jobs` with at most `limit` at a time. @param {(() => Promise<unknown>)[]} jobs @param {number} limit */
async function pool(jobs, limit) {
  const queue = [...jobs];
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) await job();
    }),
  );
}

/** @param {string} name @param {Target} target */
async function build(name, target) {
  const started = process.hrtime.bigint();
  const gyp = fromBindingGyp(target.os);
  const work = join(WORK, name);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });

  const compileFlags = [
    ...gyp.cflags,
    ...target.compileFlags,
    '-O2',
    // With --gc-sections, only what the addon uses of the static runtime stays in the binary.
    '-ffunction-sections',
    '-fdata-sections',
    ...gyp.defines.map((define) => `-D${define}`),
    '-DBUILDING_NODE_EXTENSION',
    `-I${headers.include_dir}`,
    `-I${ADDON_API}`,
  ];
  const sources = [...gyp.sources, ...target.extraSources];
  const objects = sources.map((source) => join(work, `${source.replace(/[/\\]/g, '_')}.o`));
  await pool(
    sources.map((source, i) => () => run(target.cxx, [...compileFlags, '-c', source, '-o', /** @type {string} */ (objects[i])], target.debianPackage)),
    availableParallelism(),
  );

  const binary = join(work, `${gyp.name}.${target.file}`);
  const imports = target.importLibrary ? await target.importLibrary(work) : [];
  await run(target.cxx, [...target.linkFlags, '-Wl,--gc-sections', '-o', binary, ...objects, ...imports, ...gyp.libraries], target.debianPackage);

  let glibc = '';
  if (target.os === 'linux') {
    // test/native/prebuilds.test.ts holds it to the oldest glibc the README promises.
    const { newest, symbols } = glibcNeeded(binary);
    const some = symbols[newest ?? ''] ?? [];
    glibc =
      newest === null
        ? 'needs no versioned glibc symbol'
        : `needs glibc >= ${newest.slice('GLIBC_'.length)} (${some.slice(0, 3).join(', ')}${some.length > 3 ? ', …' : ''})`;
  }

  const dir = join(OUT, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const out = join(dir, basename(binary));
  copyFileSync(binary, out);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const kib = Math.round(statSync(out).size / 1024);
  console.log(`${name.padEnd(12)} ${relative(ROOT, out)}  ${kib} KiB  ${glibc ? `${glibc}  ` : ''}${seconds.toFixed(1)} s`);
}

async function main() {
  const names = process.argv.slice(2);
  const unknown = names.filter((name) => !(name in TARGETS));
  if (unknown.length > 0) throw new Error(`unknown target ${unknown.join(', ')}; known: ${Object.keys(TARGETS).join(', ')}`);
  for (const name of names.length > 0 ? names : Object.keys(TARGETS)) await build(name, /** @type {Target} */ (TARGETS[name]));
}

main().catch((error) => {
  console.error(`prebuild: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
