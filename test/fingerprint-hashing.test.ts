import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import { displayId, hashFingerprint, matchFingerprint, normalizeComponentValue, type HashableFingerprint } from '@licensor/client/contract';

const KEY = 'com.example.product/fp-key';

type Raw = Record<string, string | string[] | { status: string; value?: string | string[] }>;

/** A collected fingerprint as the addon reports it; a plain value means status `ok`. */
function collected(components: Raw): HashableFingerprint {
  return {
    components: Object.fromEntries(
      Object.entries(components).map(([id, c]) => [id, typeof c === 'string' || Array.isArray(c) ? { status: 'ok', value: c } : c]),
    ),
  };
}

/** A typical workstation, raw values spelled the way the OS APIs hand them over. */
function workstation(overrides: Raw = {}): HashableFingerprint {
  return collected({
    'os.machineId': '4f1c2a9e8b7d4c3fa1e2d3c4b5a69788',
    'hw.systemUuid': '4C4C4544-0042-3510-8052-B4C04F4A4D32',
    'hw.boardSerial': '/7XB5P33/CN1296373A0123/',
    'disk.bootSerial': 'S4EWNX0N123456      ',
    'net.macs': ['b4:2e:99:0a:1b:2c', 'b4:2e:99:0a:1b:2d'],
    'cpu.signature': 'AuthenticAMD|26|2|1|AMD EPYC 9254 24-Core Processor',
    'hw.model': 'Dell Inc.|PowerEdge R6625|0T2CX1',
    ...overrides,
  });
}

/** The recipe of docs/fingerprint-design.md#normalising-and-keyed-hashing, written out on its own. */
function expectedHash(id: string, value: string, key: string = KEY): string {
  return createHmac('sha256', key).update(`fp1\0${id}\0${value}`).digest('hex').slice(0, 32);
}

describe('normalising a component value', () => {
  it('lower-cases a UUID and drops its braces', () => {
    assert.equal(normalizeComponentValue('hw.systemUuid', ' {4C4C4544-0042-3510-8052-B4C04F4A4D32}\0'), '4c4c4544-0042-3510-8052-b4c04f4a4d32');
    assert.equal(normalizeComponentValue('os.machineId', '{E0B1D5F2-AB12-4C3D-9E8F-0123456789AB}'), 'e0b1d5f2-ab12-4c3d-9e8f-0123456789ab');
  });

  it('trims space and NUL padding from a serial and upper-cases it', () => {
    assert.equal(normalizeComponentValue('disk.bootSerial', '  s4ewnx0n123456\0\0\0'), 'S4EWNX0N123456');
    assert.equal(normalizeComponentValue('hw.boardSerial', '\0 cn1296373a0123 \n'), 'CN1296373A0123');
  });

  it('collapses inner padding in a serial', () => {
    assert.equal(normalizeComponentValue('disk.bootSerial', 'WD-WCC4N  \0 1234567'), 'WD-WCC4N 1234567');
  });

  it('treats junk and empty values as absent', () => {
    assert.equal(normalizeComponentValue('hw.boardSerial', 'To Be Filled By O.E.M.'), null);
    assert.equal(normalizeComponentValue('hw.boardSerial', ' Default string '), null);
    assert.equal(normalizeComponentValue('disk.bootSerial', '   \0\0'), null);
    assert.equal(normalizeComponentValue('hw.systemUuid', '00000000-0000-0000-0000-000000000000'), null);
    assert.equal(normalizeComponentValue('hw.systemUuid', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'), null);
    assert.equal(normalizeComponentValue('hw.systemUuid', '03000200-0400-0500-0006-000700080009'), null);
    assert.equal(normalizeComponentValue('os.machineId', 'uninitialized\n'), null);
    assert.equal(normalizeComponentValue('net.macs', ['00:00:00:00:00:00', '', 'not a mac']), null);
  });

  it('spells MAC addresses one way, then sorts and de-duplicates the set', () => {
    assert.deepEqual(normalizeComponentValue('net.macs', ['B4-2E-99-0A-1B-2D', 'b4:2e:99:0a:1b:2c', 'b42e990a1b2d']), [
      'b4:2e:99:0a:1b:2c',
      'b4:2e:99:0a:1b:2d',
    ]);
  });

  it('trims each field of a pipe-separated description', () => {
    assert.equal(
      normalizeComponentValue('cpu.signature', 'GenuineIntel |6|85|7|  Intel(R) Xeon(R) Gold 6130 CPU   @ 2.10GHz\0'),
      'GenuineIntel|6|85|7|Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz',
    );
  });

  it('treats a value of the wrong shape as absent', () => {
    assert.equal(normalizeComponentValue('os.machineId', ['4f1c2a9e8b7d4c3fa1e2d3c4b5a69788']), null);
    assert.deepEqual(normalizeComponentValue('net.macs', 'b4:2e:99:0a:1b:2c'), ['b4:2e:99:0a:1b:2c']);
  });

  it('rejects a component id outside the catalogue', () => {
    assert.throws(() => normalizeComponentValue('constructor', 'x'), TypeError);
  });
});

describe('hashing a fingerprint', () => {
  it('reproduces an independently computed HMAC for one component', () => {
    const hashes = hashFingerprint(workstation(), KEY);
    assert.equal(hashes['os.machineId'], expectedHash('os.machineId', '4f1c2a9e8b7d4c3fa1e2d3c4b5a69788'));
    assert.equal(hashes['disk.bootSerial'], expectedHash('disk.bootSerial', 'S4EWNX0N123456'));
    assert.match(hashes['hw.systemUuid'] as string, /^[0-9a-f]{32}$/);
  });

  it('hashes the normalised value, so spellings of one id hash alike', () => {
    const a = hashFingerprint(workstation({ 'hw.systemUuid': '{4C4C4544-0042-3510-8052-B4C04F4A4D32}' }), KEY);
    const b = hashFingerprint(workstation({ 'hw.systemUuid': '4c4c4544-0042-3510-8052-b4c04f4a4d32' }), KEY);
    assert.equal(a['hw.systemUuid'], b['hw.systemUuid']);
  });

  it('hashes each set member and sorts the member hashes', () => {
    const macs = ['b4:2e:99:0a:1b:2c', 'b4:2e:99:0a:1b:2d', '3c:ec:ef:00:11:22'];
    const members = hashFingerprint(workstation({ 'net.macs': macs }), KEY)['net.macs'];
    assert.ok(Array.isArray(members));
    assert.deepEqual(members, macs.map((mac) => expectedHash('net.macs', mac)).sort());
    assert.deepEqual(members, [...members].sort());
  });

  it('skips components whose status is not ok, and junk read as ok', () => {
    const hashes = hashFingerprint(
      workstation({
        'hw.systemUuid': { status: 'denied' },
        'hw.boardSerial': 'Default string',
        'disk.bootSerial': { status: 'error', value: 'S4EWNX0N123456' },
        'net.macs': { status: 'junk', value: ['b4:2e:99:0a:1b:2c'] },
        'cpu.signature': { status: 'ok' },
      }),
      KEY,
    );
    assert.deepEqual(Object.keys(hashes), ['os.machineId', 'hw.model']);
  });

  it('leaves components outside the catalogue out', () => {
    const hashes = hashFingerprint(workstation({ 'gpu.uuid': 'GPU-1234' }), KEY);
    assert.equal(hashes['gpu.uuid'], undefined);
  });

  it('separates components, so one value under two ids hashes differently', () => {
    const hashes = hashFingerprint(collected({ 'hw.boardSerial': 'ABC123', 'disk.bootSerial': 'ABC123' }), KEY);
    assert.notEqual(hashes['hw.boardSerial'], hashes['disk.bootSerial']);
  });

  it('gives unrelated hashes under another product key', () => {
    const ours = hashFingerprint(workstation(), KEY);
    const theirs = hashFingerprint(workstation(), 'another-product');
    assert.notEqual(ours['os.machineId'], theirs['os.machineId']);
    assert.equal(theirs['os.machineId'], expectedHash('os.machineId', '4f1c2a9e8b7d4c3fa1e2d3c4b5a69788', 'another-product'));
  });

  it('accepts the key as a Buffer', () => {
    assert.deepEqual(hashFingerprint(workstation(), Buffer.from(KEY)), hashFingerprint(workstation(), KEY));
  });

  it('refuses an empty key', () => {
    assert.throws(() => hashFingerprint(workstation(), ''), TypeError);
  });

  it('produces hashes that match the same machine after a disk swap', () => {
    const enrolled = hashFingerprint(workstation(), KEY);
    const now = hashFingerprint(workstation({ 'disk.bootSerial': 'WD-WX21A9' }), KEY);
    const result = matchFingerprint(enrolled, now, 'fuzzy');
    assert.equal(result.accepted, true);
    assert.deepEqual(result.changed, ['disk.bootSerial']);
  });
});

describe('deriving the display id', () => {
  const idOf = (value: string) => createHmac('sha256', KEY).update(`fp1-id\0${value}`).digest('hex').slice(0, 32);

  it('uses the system UUID first', () => {
    assert.equal(displayId(workstation(), KEY), idOf('4c4c4544-0042-3510-8052-b4c04f4a4d32'));
  });

  it('falls back to the OS id, then the boot disk serial', () => {
    const noUuid = workstation({ 'hw.systemUuid': { status: 'denied' } });
    assert.equal(displayId(noUuid, KEY), idOf('4f1c2a9e8b7d4c3fa1e2d3c4b5a69788'));
    const diskOnly = collected({ 'hw.systemUuid': '00000000-0000-0000-0000-000000000000', 'disk.bootSerial': ' s4ewnx0n123456 ' });
    assert.equal(displayId(diskOnly, KEY), idOf('S4EWNX0N123456'));
  });

  it('is null when none of its sources is usable', () => {
    assert.equal(displayId(collected({ 'net.macs': ['b4:2e:99:0a:1b:2c'], 'os.machineId': { status: 'absent' } }), KEY), null);
  });
});
