import type { CollectedFingerprint } from './types';

/**
 * The marketplace `deviceFingerprint` / hardware identification code
 * (docs/marketplace.md#8-device-fingerprint): `MAC|DISK|BOARD|CPU`,
 * an empty field for anything not obtainable, several MACs or disks joined with `,`, the whole
 * string upper-cased. Example there: `04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.||BFEBFBFF00090672`.
 *
 * Mapping from the addon's result:
 * - MAC   = `net.macs` (permanent MACs of physical NICs), when its status is `ok`;
 * - DISK  = the serial numbers of the boot disk(s) (`hardware.bootDisks[].serial`, placeholders
 *           already dropped) — the marketplace asks for the disk serial, not the WWN;
 * - BOARD = `hw.boardSerial` (baseboard serial, else system serial), when `ok`;
 * - CPU   = `hardware.cpu.processorId`, CPUID leaf 1 EDX:EAX — what Windows calls the
 *           processor id and the marketplace example shows (`BFEBFBFF00090672`).
 * The marketplace field holds 1024 characters (§3.6 `getLicenseAsync`); §8 allows 5 KB.
 */
export function deviceFingerprint(result: CollectedFingerprint): string {
  const macs = result.components['net.macs'];
  const board = result.components['hw.boardSerial'];
  const fields = [
    macs?.status === 'ok' && macs.value !== undefined ? macs.value.join(',') : '',
    result.hardware.bootDisks.flatMap((disk) => (disk.serial ? [disk.serial] : [])).join(','),
    board?.status === 'ok' && board.value !== undefined ? board.value : '',
    result.hardware.cpu?.processorId ?? '',
  ];
  return fields.join('|').toUpperCase();
}
