#!/usr/bin/env node
// @ts-check
/**
 * Puts binding.gyp and the addon's sources into the client package while it is packed
 * (`npm pack -w client`: prepack), and takes them out again afterwards (postpack, `--clean`).
 * They let a machine without a fitting prebuild (musl, macOS, another CPU) build the addon in the
 * installed package with `npx node-gyp rebuild`; the repository keeps one copy, at its root.
 */
'use strict';

const { cpSync, rmSync } = require('node:fs');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..', '..');
const CLIENT = join(ROOT, 'client');

rmSync(join(CLIENT, 'binding.gyp'), { force: true });
rmSync(join(CLIENT, 'native'), { recursive: true, force: true });
if (!process.argv.includes('--clean')) {
  cpSync(join(ROOT, 'binding.gyp'), join(CLIENT, 'binding.gyp'));
  // The prebuild tooling stays behind: it cross-compiles from the repository only.
  cpSync(join(ROOT, 'native'), join(CLIENT, 'native'), { recursive: true, filter: (source) => !source.startsWith(join(ROOT, 'native', 'prebuild')) });
}
