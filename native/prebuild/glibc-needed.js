// @ts-check
/**
 * The glibc symbol versions a Linux binary needs, read from its dynamic symbol table: each
 * undefined symbol's entry in .gnu.version names a .gnu.version_r requirement such as
 * GLIBC_2.25. The newest one is the oldest glibc the binary loads on (docs/fingerprint.md#glibc).
 * 64-bit little-endian ELF only (x86-64 and arm64), read without binutils.
 */
'use strict';

const { readFileSync } = require('node:fs');

const SHT_DYNSYM = 11;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;

/**
 * @param {string} file
 * @returns {{ newest: string | null, symbols: Record<string, string[]> }} the newest GLIBC_x.y
 *   version (null when the binary needs none) and, per version, the symbols that need it
 */
function glibcNeeded(file) {
  const elf = readFileSync(file);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) {
    throw new Error(`${file} is not a 64-bit little-endian ELF file`);
  }
  const sectionsAt = Number(elf.readBigUInt64LE(0x28));
  const sectionSize = elf.readUInt16LE(0x3a);
  const sections = Array.from({ length: elf.readUInt16LE(0x3c) }, (_, i) => {
    const at = sectionsAt + i * sectionSize;
    return {
      type: elf.readUInt32LE(at + 4),
      offset: Number(elf.readBigUInt64LE(at + 0x18)),
      size: Number(elf.readBigUInt64LE(at + 0x20)),
      link: elf.readUInt32LE(at + 0x28),
      info: elf.readUInt32LE(at + 0x2c),
    };
  });
  /** @param {number} type */
  const section = (type) => sections.find((s) => s.type === type);
  /** @param {{ offset: number }} table @param {number} at */
  const string = (table, at) => {
    const start = table.offset + at;
    return elf.toString('latin1', start, elf.indexOf(0, start));
  };

  // Version index (vna_other) → name, from the version requirements.
  /** @type {Map<number, string>} */
  const versions = new Map();
  const verneed = section(SHT_GNU_VERNEED);
  if (verneed) {
    const names = sections[verneed.link];
    for (let n = 0, at = verneed.offset; n < verneed.info; n += 1) {
      for (let a = 0, aux = at + elf.readUInt32LE(at + 8); a < elf.readUInt16LE(at + 2); a += 1) {
        versions.set(elf.readUInt16LE(aux + 6), string(names, elf.readUInt32LE(aux + 8)));
        aux += elf.readUInt32LE(aux + 12);
      }
      at += elf.readUInt32LE(at + 12);
    }
  }

  /** @type {Record<string, string[]>} */
  const symbols = {};
  const dynsym = section(SHT_DYNSYM);
  const versym = section(SHT_GNU_VERSYM);
  if (dynsym && versym) {
    const names = sections[dynsym.link];
    for (let i = 0; i < dynsym.size / 24; i += 1) {
      const at = dynsym.offset + i * 24;
      if (elf.readUInt16LE(at + 6) !== 0) continue; // defined here, needs nothing
      const version = versions.get(elf.readUInt16LE(versym.offset + i * 2) & 0x7fff);
      if (version?.startsWith('GLIBC_')) (symbols[version] ??= []).push(string(names, elf.readUInt32LE(at)));
    }
  }
  const newest = Object.keys(symbols).sort(compareGlibcVersions).pop() ?? null;
  return { newest, symbols };
}

/** Orders GLIBC_2.3 before GLIBC_2.14 (numbers, not text). @param {string} a @param {string} b */
function compareGlibcVersions(a, b) {
  const parts = (/** @type {string} */ v) =>
    v
      .replace(/^GLIBC_/, '')
      .split('.')
      .map(Number);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i += 1) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

module.exports = { glibcNeeded, compareGlibcVersions };
