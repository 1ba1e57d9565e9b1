import { strict as assert } from 'node:assert';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packageRoot } from './helpers/package-root';

type Wrapper = Pick<typeof import('@licensor/client'), 'collectSync'>;

// The compiled loader of the client package, and the one module it loads beside it.
const COMPILED = dirname(require.resolve('@licensor/client'));
const LOADER_FILES = [join('fingerprint', 'addon.js'), join('contract', 'fingerprint', 'device-fingerprint.js')];
const PREBUILDS = 'prebuilds';

// A loadable Node-API binary for this machine: what `npm ci` compiled.
const BUILT = join(packageRoot(), 'build', 'Release', 'licensor_fingerprint.node');
const PLATFORM = `${process.platform}-${process.arch}`;
const LOCAL_BUILD = join('build', 'Release', 'licensor_fingerprint.node');

/**
 * A copy of the compiled loader inside a licensor package of its own, holding the given files
 * (path → a copy of the real binary, or text that no loader can load).
 */
class Package {
  readonly root = mkdtempSync(join(tmpdir(), 'licensor-loader-'));

  constructor(files: Record<string, 'binary' | 'garbage'>) {
    writeFileSync(join(this.root, 'package.json'), JSON.stringify({ name: '@licensor/client' }));
    for (const file of LOADER_FILES) {
      mkdirSync(dirname(join(this.root, 'dist', 'src', file)), { recursive: true });
      copyFileSync(join(COMPILED, file), join(this.root, 'dist', 'src', file));
    }
    for (const [path, kind] of Object.entries(files)) {
      mkdirSync(dirname(join(this.root, path)), { recursive: true });
      if (kind === 'binary') copyFileSync(BUILT, join(this.root, path));
      else writeFileSync(join(this.root, path), 'not a shared library\n');
    }
  }

  loader(): Wrapper {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the copy is the point
    return require(join(this.root, 'dist', 'src', 'fingerprint', 'addon.js')) as Wrapper;
  }

  /** The binaries of this package that the process has loaded. */
  loaded(): string[] {
    return Object.keys(require.cache).filter((path) => path.startsWith(this.root) && path.endsWith('.node'));
  }

  /** The message collectSync() fails with. */
  failure(): string {
    let message = '';
    assert.throws(
      () => this.loader().collectSync(),
      (error: Error) => ((message = error.message), true),
    );
    return message;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

describe('loading the native addon', () => {
  const made: Package[] = [];
  const make = (files: Record<string, 'binary' | 'garbage'> = {}): Package => {
    const pkg = new Package(files);
    made.push(pkg);
    return pkg;
  };
  after(() => made.forEach((pkg) => pkg.remove()));

  it('takes the prebuild for this platform over a local build', () => {
    const prebuild = join(PREBUILDS, PLATFORM, 'licensor_fingerprint.napi.node');
    const pkg = make({ [prebuild]: 'binary', [LOCAL_BUILD]: 'binary' });
    assert.equal(pkg.loader().collectSync({ include: ['cpu.signature'] }).platform, process.platform);
    assert.deepEqual(pkg.loaded(), [join(pkg.root, prebuild)]);
  });

  it('prefers the prebuild tagged with this C library over an untagged one', function () {
    if (process.platform !== 'linux') this.skip();
    const tagged = join(PREBUILDS, PLATFORM, 'licensor_fingerprint.napi.glibc.node');
    const pkg = make({ [tagged]: 'binary', [join(PREBUILDS, PLATFORM, 'licensor_fingerprint.napi.node')]: 'binary' });
    pkg.loader().collectSync({ include: ['cpu.signature'] });
    assert.deepEqual(pkg.loaded(), [join(pkg.root, tagged)]);
  });

  it('falls back to the local build when no prebuild is for this platform', () => {
    const pkg = make({
      [join(PREBUILDS, 'win32-x64', 'licensor_fingerprint.napi.node')]: 'garbage',
      [join(PREBUILDS, 'sunos-sparc', 'licensor_fingerprint.napi.node')]: 'garbage',
      [LOCAL_BUILD]: 'binary',
    });
    pkg.loader().collectSync({ include: ['cpu.signature'] });
    assert.deepEqual(pkg.loaded(), [join(pkg.root, LOCAL_BUILD)]);
  });

  it('tries the local build when the prebuild does not load', () => {
    const pkg = make({ [join(PREBUILDS, PLATFORM, 'licensor_fingerprint.napi.node')]: 'garbage', [LOCAL_BUILD]: 'binary' });
    pkg.loader().collectSync({ include: ['cpu.signature'] });
    assert.deepEqual(pkg.loaded(), [join(pkg.root, LOCAL_BUILD)]);
  });

  it('does not take a prebuild made for another C library (musl on glibc)', function () {
    if (process.platform !== 'linux') this.skip();
    const pkg = make({ [join(PREBUILDS, PLATFORM, 'licensor_fingerprint.napi.musl.node')]: 'garbage' });
    const message = pkg.failure();
    assert.ok(
      message.includes(`${join(pkg.root, PREBUILDS)}: no prebuild for ${PLATFORM} (glibc) (it holds ${PLATFORM}/licensor_fingerprint.napi.musl.node)`),
      message,
    );
  });

  it("tells the C library from ldd's contents, as the process's own report does, without writing the report", function () {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the compiled loader, as the package ships it
    const { libcNamedBy } = require(join(COMPILED, 'fingerprint', 'addon.js')) as { libcNamedBy(ldd: string): string | undefined };
    // musl's ldd is its dynamic loader, which prints this banner; glibc's is a script of the GNU C Library.
    assert.equal(libcNamedBy('\x7fELF\x02\x01\x01 ... musl libc (x86_64)\nVersion 1.2.4\nDynamic Program Loader'), 'musl');
    assert.equal(libcNamedBy('#!/bin/bash\n# This file is part of the GNU C Library.\n'), 'glibc');
    assert.equal(libcNamedBy(''), undefined, 'no ldd: the report decides');
    assert.equal(libcNamedBy('#!/bin/sh\necho "not a dynamic executable"\n'), undefined);
    if (process.platform !== 'linux' || !existsSync('/usr/bin/ldd')) this.skip();
    const report = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header;
    assert.equal(libcNamedBy(readFileSync('/usr/bin/ldd', 'latin1')), report.glibcVersionRuntime === undefined ? 'musl' : 'glibc');

    // Picking the libc-tagged prebuild asks ldd only: the report costs milliseconds of a first check().
    const tagged = join(PREBUILDS, PLATFORM, 'licensor_fingerprint.napi.glibc.node');
    const pkg = make({ [tagged]: 'binary' });
    const getReport = process.report.getReport;
    let reports = 0;
    process.report.getReport = (...args) => (reports++, getReport.apply(process.report, args));
    try {
      pkg.loader().collectSync({ include: ['cpu.signature'] });
    } finally {
      process.report.getReport = getReport;
    }
    assert.deepEqual(pkg.loaded(), [join(pkg.root, tagged)]);
    assert.equal(reports, 0);
  });

  it('names every path it tried, why each failed, and how to build the addon when nothing loads', () => {
    const prebuild = join(PREBUILDS, PLATFORM, 'licensor_fingerprint.napi.node');
    const pkg = make({ [prebuild]: 'garbage' });
    const message = pkg.failure();
    const lines = message.split('\n');
    assert.match(lines[0]!, new RegExp(`could not be loaded on ${PLATFORM}, Node ${process.version.replace(/\./g, '\\.')}\\.$`));
    assert.equal(lines[1], 'Tried:');
    // The prebuild with dlopen's own reason, said once; then the local build.
    assert.match(lines[2]!, new RegExp(`^  ${join(pkg.root, prebuild)}: (?!.*${pkg.root}).*\\S`));
    assert.equal(lines[3], `  ${join(pkg.root, LOCAL_BUILD)}: does not exist`);
    assert.match(message, /ship for linux-x64 and linux-arm64 \(glibc\) and win32-x64/);
    assert.ok(message.includes(`  npm install --save-dev node-gyp node-addon-api && (cd ${pkg.root} && npx node-gyp rebuild)\n`), message);
    assert.match(message, /python3, make and a C\+\+17 compiler/);
    assert.match(message, /Alpine: apk add python3 make g\+\+/);
  });

  it('names what it looked for in a package that holds no binary at all', () => {
    const pkg = make();
    const lines = pkg.failure().split('\n');
    assert.deepEqual(lines.slice(1, 4), [
      'Tried:',
      `  ${join(pkg.root, PREBUILDS)}: no prebuild for ${PLATFORM}${process.platform === 'linux' ? ' (glibc)' : ''} (none there)`,
      `  ${join(pkg.root, LOCAL_BUILD)}: does not exist`,
    ]);
  });
});
