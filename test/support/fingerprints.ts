import type { FingerprintHashes } from '@licensor/client/contract';

export type Overrides = Record<string, string | string[] | undefined>;

/**
 * A fingerprint of machine `label`: every component hash names its machine and component, the MAC
 * set has two NICs. An override replaces a component; `undefined` makes it absent.
 */
export function labelled(label: string, overrides: Overrides = {}): FingerprintHashes {
  const fp: FingerprintHashes = {
    'os.machineId': `${label}:os`,
    'hw.systemUuid': `${label}:uuid`,
    'hw.boardSerial': `${label}:board`,
    'disk.bootSerial': `${label}:disk`,
    'net.macs': [`${label}:nic1`, `${label}:nic2`],
    'cpu.signature': 'cpu:epyc-9254',
    'hw.model': 'model:poweredge-r6625',
  };
  for (const [id, value] of Object.entries(overrides)) {
    if (value === undefined) delete fp[id];
    else fp[id] = value;
  }
  return fp;
}
