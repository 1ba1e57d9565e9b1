import { createHash } from 'node:crypto';
import { hashFingerprint } from '@licensor/client/contract';
import type { FingerprintHashes } from '../types';

/**
 * The marketplace's `deviceFingerprint` (docs/marketplace.md §8: `MAC|DISK|BOARD|CPU`,
 * several MACs or disks joined with `,`) as per-component hashes, through the same normalising and
 * hashing the client uses, so a device holds a seat and is recognised like any other machine.
 * CPU is the processor id, hashed under `cpu.signature`: it only ever compares with other
 * marketplace fingerprints, never with a fingerprint our client collected.
 */
export function hashDeviceFingerprint(text: string, key: string): FingerprintHashes {
  const [macs = '', disks = '', board = '', cpu = ''] = text.split('|').map((part) => part.trim());
  const list = (s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const ok = (value: string | string[]) => ({ status: 'ok', value });
  const components: Record<string, { status: string; value: string | string[] }> = {};
  if (list(macs).length > 0) components['net.macs'] = ok(list(macs));
  // Several disks are one value: the set of disks is what identifies the device.
  if (list(disks).length > 0) components['disk.bootSerial'] = ok(list(disks).join(','));
  if (board) components['hw.boardSerial'] = ok(board);
  if (cpu) components['cpu.signature'] = ok(cpu);
  return hashFingerprint({ components }, key);
}

/** The key a license application is remembered under (§6: eventId + deviceFingerprint). */
export function fingerprintDigest(text: string | null): string {
  return createHash('sha256')
    .update(text ?? '', 'utf8')
    .digest('hex');
}
