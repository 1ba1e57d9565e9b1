/**
 * Normalising and keyed hashing of collected fingerprint components
 * (docs/fingerprint-design.md#normalising-and-keyed-hashing).
 * Raw serials never leave this module: only per-component HMACs do.
 */
import { createHmac } from 'node:crypto';
import { COMPONENTS, HARDWARE_COMPONENT_IDS, INSTANCE_COMPONENT, type FingerprintHashes, type HardwareComponentId } from './components';

/** What the addon's `collect()` returns (contract/fingerprint/types.ts), reduced to the parts hashing reads. */
export interface CollectedComponent {
  status: string;
  value?: string | string[];
}

export interface HashableFingerprint {
  components: Record<string, CollectedComponent>;
}

// Firmware strings and ATA IDENTIFY serials arrive padded with spaces and NULs.
const PADDING = /[\s\0]+/g;
const HEX_ID_DECORATION = /^\{|\}$/g;
const MAC_SEPARATORS = /[:.-]/g;
const TWELVE_HEX = /^[0-9a-f]{12}$/;
const HEX_PAIRS = /(..)(?!$)/g;

// Placeholders firmware ships (docs/fingerprint-design.md#junk-values), compared after normalising.
const JUNK_HEX_IDS = new Set([
  '03000200-0400-0500-0006-000700080009',
  // systemd writes this into /etc/machine-id before first boot completes.
  'uninitialized',
]);
const ALL_ZERO_OR_ALL_F = /^(?:[0-]+|[f-]+)$/;
const JUNK_SERIALS = new Set(['TO BE FILLED BY O.E.M.', 'DEFAULT STRING', 'SYSTEM SERIAL NUMBER', 'NOT SPECIFIED', 'NONE', '0', '0123456789']);
const JUNK_MACS = new Set(['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff']);

function collapsePadding(value: string): string {
  return value.replace(PADDING, ' ').trim();
}

/** UUIDs, MachineGuid, machine-id: case and `{}` differ between OS APIs, the id does not. */
function normalizeHexId(value: string): string | null {
  const id = value.replace(PADDING, '').replace(HEX_ID_DECORATION, '').toLowerCase();
  return id === '' || JUNK_HEX_IDS.has(id) || ALL_ZERO_OR_ALL_F.test(id) ? null : id;
}

function normalizeSerial(value: string): string | null {
  const serial = collapsePadding(value).toUpperCase();
  return serial === '' || JUNK_SERIALS.has(serial) ? null : serial;
}

/** Windows writes `AA-BB-…`, Linux `aa:bb:…`: one spelling so the same NIC hashes alike. */
function normalizeMac(value: string): string | null {
  const digits = value.replace(PADDING, '').replace(MAC_SEPARATORS, '').toLowerCase();
  // Physical NICs have 48-bit addresses; nothing else is one (docs/fingerprint-design.md#mac-rules).
  if (!TWELVE_HEX.test(digits)) return null;
  const mac = digits.replace(HEX_PAIRS, '$1:');
  return JUNK_MACS.has(mac) ? null : mac;
}

/** `vendor|family|…` strings: firmware pads each field differently between reads and OSes. */
function normalizeFields(value: string): string | null {
  const fields = value.split('|').map(collapsePadding);
  return fields.every((field) => field === '') ? null : fields.join('|');
}

// Keyed by HardwareComponentId so that adding a catalogue entry without a rule fails to compile.
const NORMALIZERS: Readonly<Record<HardwareComponentId, (value: string) => string | null>> = {
  'os.machineId': normalizeHexId,
  'hw.systemUuid': normalizeHexId,
  'hw.boardSerial': normalizeSerial,
  'disk.bootSerial': normalizeSerial,
  'net.macs': normalizeMac,
  'cpu.signature': normalizeFields,
  'hw.model': normalizeFields,
};

/**
 * The canonical form of one component's raw value, or `null` when nothing usable remains (empty,
 * junk, or the wrong shape): callers treat `null` as absent.
 * Set components come back as sorted, de-duplicated members.
 */
export function normalizeComponentValue(id: string, value: string | string[]): string | string[] | null {
  if (!isHardwareComponentId(id)) {
    throw new TypeError(`unknown fingerprint component: ${JSON.stringify(id)}`);
  }
  const normalize = NORMALIZERS[id];
  if (COMPONENTS[id].kind === 'single') {
    return typeof value === 'string' ? normalize(value) : null;
  }
  const members = new Set<string>();
  for (const raw of Array.isArray(value) ? value : [value]) {
    const member = typeof raw === 'string' ? normalize(raw) : null;
    if (member !== null) members.add(member);
  }
  return members.size === 0 ? null : [...members].sort();
}

function hmacKey(key: string | Buffer): Buffer {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (!Buffer.isBuffer(bytes) || bytes.length === 0) {
    throw new TypeError('fingerprint key must be a non-empty string or Buffer');
  }
  return bytes;
}

/** HMAC-SHA256 truncated to 128 bits, lower-case hex. */
function keyedHash(key: Buffer, message: string): string {
  return createHmac('sha256', key).update(message, 'utf8').digest().toString('hex', 0, 16);
}

function componentHash(key: Buffer, id: string, value: string): string {
  return keyedHash(key, `fp1\0${id}\0${value}`);
}

/** The usable normalised value of a component the addon read successfully, or `null`. */
function okValue(collected: HashableFingerprint, id: HardwareComponentId): string | string[] | null {
  const component = collected.components[id];
  if (component === undefined || component.status !== 'ok' || component.value === undefined) return null;
  return normalizeComponentValue(id, component.value);
}

/**
 * Hashes every catalogue component the addon read with status `ok`, each on its own, so the
 * server can match component by component without seeing a raw serial
 * (docs/fingerprint-design.md#normalising-and-keyed-hashing).
 * `key` is the per-product constant: it stops cross-application correlation, it is not a secret.
 * Components outside the catalogue are not sent: nothing would match them.
 */
export function hashFingerprint(collected: HashableFingerprint, key: string | Buffer): FingerprintHashes {
  const bytes = hmacKey(key);
  const hashes: FingerprintHashes = {};
  for (const id of HARDWARE_COMPONENT_IDS) {
    const value = okValue(collected, id);
    if (value === null) continue;
    hashes[id] = typeof value === 'string' ? componentHash(bytes, id, value) : value.map((member) => componentHash(bytes, id, member)).sort();
  }
  return hashes;
}

/**
 * A container's fingerprint (docs/policies.md "Containers"): its instance identity alone, the
 * keyed hash of the random secret the client keeps and of what tells this container from another
 * of its image (`marker`). A store copied into another container therefore names another instance.
 */
export function instanceFingerprint(secret: string, marker: string, key: string | Buffer): FingerprintHashes {
  return { [INSTANCE_COMPONENT]: componentHash(hmacKey(key), INSTANCE_COMPONENT, `${secret}\0${marker}`) };
}

function isHardwareComponentId(id: string): id is HardwareComponentId {
  return (HARDWARE_COMPONENT_IDS as readonly string[]).includes(id);
}

// Most stable first: firmware UUID survives reinstalls, the OS id survives disk swaps.
const DISPLAY_ID_SOURCES: readonly HardwareComponentId[] = ['hw.systemUuid', 'os.machineId', 'disk.bootSerial'];

/**
 * A stable machine id for display and lookups, never for matching on its own
 * (docs/fingerprint-design.md#normalising-and-keyed-hashing); `null` when none of its source
 * components is usable.
 */
export function displayId(collected: HashableFingerprint, key: string | Buffer): string | null {
  for (const id of DISPLAY_ID_SOURCES) {
    const value = okValue(collected, id);
    if (typeof value === 'string') return keyedHash(hmacKey(key), `fp1-id\0${value}`);
  }
  return null;
}
