import { collect, deviceFingerprint } from '@licensor/client';
import { type CollectedFingerprint, type Component, hashFingerprint } from '@licensor/client/contract';
import { parseCommand } from '../args';
import { print, processIo, table, UsageError, type Io } from '../output';

const FINGERPRINT_HELP = `licensor fingerprint — this machine's fingerprint components and what a client would send

  licensor fingerprint [--raw] [--key <fingerprintKey>] [--product <id>] [--json]

  --raw        show raw serials and ids (default: masked to a short hint)
  --key        the product's fingerprint key: also print the per-component HMACs a client sends
  --product    label the output with the product the key belongs to`;

// Model names identify a product line, not a machine: shown as they are, like the statuses.
const UNMASKED = new Set(['cpu.signature', 'hw.model']);

/** "3d1219c7c4c5…" -> "3d12…a4": enough to recognise a value, not enough to copy it. */
function mask(value: string): string {
  return value.length <= 6 ? '*'.repeat(value.length) : `${value.slice(0, 4)}…${value.slice(-2)}`;
}

function shown(id: string, value: string | string[] | undefined, raw: boolean): string | string[] | undefined {
  if (value === undefined || raw || UNMASKED.has(id)) return value;
  return Array.isArray(value) ? value.map(mask) : mask(value);
}

function maskedDeviceFingerprint(result: CollectedFingerprint, raw: boolean): string {
  const rendered = deviceFingerprint(result);
  return raw
    ? rendered
    : rendered
        .split('|')
        .map((field) =>
          field
            .split(',')
            .map((part) => (part ? mask(part) : ''))
            .join(','),
        )
        .join('|');
}

function envLine(result: CollectedFingerprint): string {
  const { env } = result;
  const parts = [
    env.virtualized ? `virtual machine${env.hypervisorVendor ? ` (${env.hypervisorVendor})` : ''}` : 'no hypervisor',
    env.container ? `container${env.containerRuntime ? ` (${env.containerRuntime})` : ''}` : 'no container',
  ];
  if (env.cloud) parts.push(`cloud: ${env.cloud}`);
  return `${result.platform}: ${parts.join(', ')}${env.evidence.length ? ` [${env.evidence.join('; ')}]` : ''}`;
}

export async function fingerprintCommand(argv: string[], io: Io = processIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    raw: { type: 'boolean' },
    key: { type: 'string' },
    product: { type: 'string' },
  });
  if (values.help) {
    io.out(FINGERPRINT_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`fingerprint takes no positional argument (got "${positionals[0]}")`);
  if (values.key === '') throw new UsageError('--key must not be empty');
  const raw = values.raw ?? false;

  const result = await collect();
  const components = Object.fromEntries(
    Object.entries(result.components).map(([id, c]: [string, Component<string | string[]>]) => [
      id,
      { status: c.status, value: shown(id, c.value, raw), detail: c.detail },
    ]),
  );
  // Exactly what a client sends: hashes of the `ok` components, never the raw values.
  const hashes = values.key === undefined ? undefined : hashFingerprint(result, values.key);
  const report = {
    platform: result.platform,
    product: values.product,
    components,
    env: result.env,
    deviceFingerprint: maskedDeviceFingerprint(result, raw),
    hashes,
  };

  print(io, values.json ?? false, report, () => {
    const rows = Object.entries(components).map(([id, c]) => ({
      component: id,
      status: c.status,
      value: c.value === undefined ? '' : [c.value].flat().join(', '),
      detail: c.detail ?? '',
    }));
    const lines = [envLine(result), '', table(rows, ['component', 'status', 'value', 'detail']), ''];
    lines.push(`marketplace deviceFingerprint (MAC|DISK|BOARD|CPU): ${report.deviceFingerprint}`);
    if (!raw) lines.push('(values masked; --raw shows them)');
    lines.push('');
    if (hashes === undefined) {
      lines.push('sent on activation: one HMAC per ok component; pass --key <fingerprintKey> to see them');
    } else {
      lines.push(`sent on activation${values.product ? ` for product ${values.product}` : ''} (HMAC-SHA256, 128 bits):`);
      lines.push(
        table(
          Object.entries(hashes).map(([id, hash]) => ({ component: id, hash: [hash].flat().join(', ') })),
          ['component', 'hash'],
        ),
      );
    }
    return lines.join('\n');
  });
  return 0;
}
