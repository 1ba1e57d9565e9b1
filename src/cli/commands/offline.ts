import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ACTIVATION_REQUEST_FORMAT, writeFileAtomic } from '@licensor/client/contract';
import { InvalidInput } from '../../domain/errors';
import { respondToActivationRequest } from '../../domain/offline-activation';
import { activationRequestSchema } from '../../application/schemas';
import { parse } from '../../application/validate';
import type { Runtime } from '../../runtime';
import { parseCommand, requireInt } from '../args';
import { print, UsageError, type Io } from '../output';

const OFFLINE_HELP = `licensor offline — air-gapped activation (request file in, signed license file out)

  licensor offline respond <request-file> [--out <license-file>] [--lease-days N] [--json]

The request file comes from the client's createActivationRequest(). The answer takes a seat for
that machine (node-locked products only) and signs a lease token whose lease is N days (default
365), never past the license expiry nor LICENSOR_MAX_TOKEN_LIFETIME_DAYS. Without --out the
license file is printed; give it to the customer, whose software calls importLicenseFile().`;

const DEFAULT_LEASE_DAYS = 365;
const DAY_SECONDS = 86_400;

const requestFileSchema = activationRequestSchema.extend({
  format: z.literal(ACTIVATION_REQUEST_FORMAT),
  v: z.literal(1),
  product: z.string().min(1).max(100),
  createdAt: z.string().max(64).optional(),
});

function readRequest(path: string) {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the request file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidInput('invalid_request_file', `${path} is not JSON: not an activation request file`);
  }
  return parse(requestFileSchema, value, 'request');
}

export async function offlineCommand(argv: string[], open: () => Promise<Runtime>, io: Io): Promise<number> {
  const {
    values,
    positionals: [sub, ...positionals],
  } = parseCommand(argv, { out: { type: 'string' }, 'lease-days': { type: 'string' } });
  if (values.help || !sub) {
    io.out(OFFLINE_HELP);
    return sub || values.help ? 0 : 2;
  }
  if (sub !== 'respond') throw new UsageError(`unknown offline command "${sub}"`);
  if (positionals.length !== 1) throw new UsageError('offline respond takes exactly one request file');
  const leaseDays = requireInt(values['lease-days'], 'lease-days', 1, 36_500) ?? DEFAULT_LEASE_DAYS;
  const request = readRequest(positionals[0]!);
  const runtime = await open();
  try {
    const license = await respondToActivationRequest(
      runtime.ctx,
      request,
      { leaseSeconds: leaseDays * DAY_SECONDS, maxLeaseSeconds: Math.floor(runtime.keyPolicy.maxTokenLifetimeMs / 1000) },
      'cli',
    );
    const text = JSON.stringify(license, null, 2) + '\n';
    if (values.out === undefined) {
      io.out(text);
      return 0;
    }
    await writeFileAtomic(values.out, text);
    const summary = { file: values.out, product: license.product, activationId: license.activationId, leaseEndsAt: license.leaseEndsAt };
    print(io, values.json ?? false, summary, () => `wrote ${values.out}: activation ${license.activationId}, lease until ${license.leaseEndsAt}`);
    return 0;
  } finally {
    await runtime.close();
  }
}
