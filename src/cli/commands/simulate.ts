import { simulateMarketplace } from '../marketplace-simulator';
import { parseCommand } from '../args';
import { print, UsageError, type Io } from '../output';

export const SIMULATE_HELP = `licensor simulate — play the marketplace against a production-interface URL

  licensor simulate --url <production URL> --key <access key> [--replay-url <URL>]
                    [--fingerprint <MAC|DISK|BOARD|CPU>] [--live] [--json]

Signs and sends every production-interface activity the way Huawei Cloud KooGallery does
(newInstance, queryInstance, getLicenseAsync, refreshInstance, updateInstanceStatus,
refreshLicenseCode, updateLicenseCodeStatus, releaseLicenseCode, releaseInstance), retries them,
replays one request, sends unsigned, wrongly signed and stale ones, and checks every result code
and Body-Sign header. --replay-url sends the replay to another server process (it must refuse it
too). Requests carry testFlag=1 (debug data) unless --live is given. Exit code 0 when every
check passed, 1 otherwise.`;

export async function simulateCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    url: { type: 'string' },
    key: { type: 'string' },
    'replay-url': { type: 'string' },
    fingerprint: { type: 'string' },
    live: { type: 'boolean' },
  });
  if (values.help) {
    io.out(SIMULATE_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`simulate takes no positional argument (got "${positionals[0]}")`);
  if (!values.url || !/^https?:\/\//.test(values.url)) throw new UsageError('--url must be the production URL, http(s)://…');
  if (!values.key) throw new UsageError('--key must be the marketplace access key');
  const replayUrl = values['replay-url'];
  if (replayUrl !== undefined && !/^https?:\/\//.test(replayUrl)) throw new UsageError('--replay-url must be an http(s):// URL');
  const checks = await simulateMarketplace({
    url: values.url,
    accessKey: values.key,
    replayUrl,
    testFlag: values.live ? '0' : '1',
    deviceFingerprint: values.fingerprint,
  });
  const failed = checks.filter((c) => !c.ok);
  print(io, values.json ?? false, { ok: failed.length === 0, checks }, () =>
    [
      ...checks.map((c) => (c.ok ? `ok    ${c.name}` : `FAIL  ${c.name}\n      ${c.detail}`)),
      `simulation: ${checks.length - failed.length} of ${checks.length} checks passed`,
    ].join('\n'),
  );
  return failed.length === 0 ? 0 : 1;
}
