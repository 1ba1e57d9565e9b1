import { strict as assert } from 'node:assert';
import { collectSync } from '@licensor/client';
import { hashFingerprint } from '@licensor/client/contract';
import { fingerprintCommand } from '../../src/cli/commands/fingerprint';
import { UsageError, type Io } from '../../src/cli/output';

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io: Io = { out: (text) => (out += `${text}\n`), err: (text) => (out += `${text}\n`) };
  const code = await fingerprintCommand(argv, io);
  return { code, out };
}

describe('licensor fingerprint', () => {
  const machine = collectSync();
  const machineId = machine.components['os.machineId']?.value;

  it('lists every component with its status and masks raw values by default', async () => {
    const { code, out } = await run([]);
    assert.equal(code, 0);
    for (const id of Object.keys(machine.components)) assert.match(out, new RegExp(`^${id.replace('.', '\\.')}\\s`, 'm'));
    if (machineId) assert.ok(!out.includes(machineId), 'raw machine id printed without --raw');
    assert.match(out, /marketplace deviceFingerprint \(MAC\|DISK\|BOARD\|CPU\): /);
  });

  it('shows raw values with --raw', async () => {
    const { out } = await run(['--raw']);
    if (machineId) assert.ok(out.includes(machineId));
  });

  it('prints the hashes a client would send for the given key, as JSON', async () => {
    const { out } = await run(['--json', '--key', 'k-product', '--product', 'cad-suite']);
    const report = JSON.parse(out) as { product: string; hashes: Record<string, unknown> };
    assert.equal(report.product, 'cad-suite');
    assert.deepEqual(report.hashes, hashFingerprint(machine, 'k-product'));
  });

  it('refuses positional arguments and an empty key as usage errors', async () => {
    await assert.rejects(run(['extra']), UsageError);
    await assert.rejects(run(['--key', '']), UsageError);
  });
});
