/**
 * Run by an emulated Node (test/support/emulation.ts): the license client as a vendor's
 * application uses it, with this platform's addon. Reads its options from the JSON file named by
 * its first argument; activates when given a code, then checks offline; writes the results as
 * JSON to the file named by its second argument.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { LicenseClient, type CheckResult, type LicenseClientOptions } from '@licensor/client';

export interface ClientRunInput {
  options: LicenseClientOptions;
  /** Activate with this code first; without it, only check. */
  code?: string;
}

export interface ClientRun {
  activated: CheckResult | null;
  checked: CheckResult;
}

async function main(): Promise<void> {
  const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ClientRunInput;
  const client = new LicenseClient(input.options);
  const activated = input.code === undefined ? null : await client.activate(input.code);
  const run: ClientRun = { activated, checked: client.check() };
  writeFileSync(process.argv[3]!, JSON.stringify(run));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
