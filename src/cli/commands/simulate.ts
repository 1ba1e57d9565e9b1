import type { Config } from '../../config';
import { holdMarketplaceWrites } from '../../storage/marketplace/database-hold';
import { simulateMarketplace } from '../marketplace-simulator';
import { startMarketplaceStandIn, type MarketplaceStandIn } from '../marketplace-stand-in';
import { parseCommand } from '../args';
import { print, UsageError, type Io } from '../output';

const SIMULATE_HELP = `licensor simulate — play the marketplace against a production-interface URL

  licensor simulate --url <production URL> --key <access key> [--replay-url <URL>]
                    [--serve-marketplace <host:port> --aksk <AK:SK>] [--hold-database]
                    [--fingerprint <MAC|DISK|BOARD|CPU>] [--live] [--json]

Signs and sends every production-interface activity the way Huawei Cloud KooGallery does
(newInstance, queryInstance, getLicenseAsync, upgradeInstance, refreshInstance,
updateInstanceStatus, refreshLicenseCode, updateLicenseCodeStatus, releaseLicenseCode,
releaseInstance), retries them, sends 20 identical calls at once, plays License 2.0 on a code the
marketplace made, replays one request, sends unsigned, wrongly signed and stale ones, and checks
every result code and Body-Sign header. --replay-url sends the replay to another server process
(it must refuse it too).

--serve-marketplace also plays the marketplace's own API on <host:port> (point the server's
LICENSOR_MARKETPLACE_API_URL at http://<host:port>, with LICENSOR_MARKETPLACE_AKSK the same as
--aksk): it answers order/query for the orders it plays, takes license uploads, and checks that
every call is signed with that AK/SK. --hold-database makes the server's database slow for a few
seconds while the marketplace retries (run it beside the server, with the server's configuration:
the same DATABASE_URL or LICENSOR_DATA_DIR). Checks that need what was not given are listed as
skipped.

Requests carry testFlag=1 (debug data) unless --live is given. Exit code 0 when every check
played passed, 1 otherwise.`;

export async function simulateCommand(argv: string[], config: () => Config, io: Io): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    url: { type: 'string' },
    key: { type: 'string' },
    'replay-url': { type: 'string' },
    'serve-marketplace': { type: 'string' },
    aksk: { type: 'string' },
    'hold-database': { type: 'boolean' },
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
  const serve = values['serve-marketplace'];
  const listen = serve === undefined ? null : /^(.+):(\d{1,5})$/.exec(serve);
  if (serve !== undefined && (!listen || Number(listen[2]) > 65_535)) throw new UsageError('--serve-marketplace must be <host>:<port>, e.g. 127.0.0.1:7401');
  const pair = values.aksk === undefined ? null : /^([^:\s,]+):([^\s,]+)$/.exec(values.aksk);
  if (values.aksk !== undefined && !pair) throw new UsageError('--aksk must be one AK:SK pair');
  if ((serve === undefined) !== (values.aksk === undefined)) throw new UsageError('--serve-marketplace and --aksk go together');
  // Read only when asked for: without --hold-database the simulator needs no configuration.
  const database = values['hold-database'] ? config() : null;

  let standIn: MarketplaceStandIn | undefined;
  if (listen && pair) {
    standIn = await startMarketplaceStandIn({
      host: listen[1]!.replace(/^\[|\]$/g, ''),
      port: Number(listen[2]),
      credentials: { accessKey: pair[1]!, secretKey: pair[2]! },
      sellerKey: values.key,
    });
  }
  try {
    const checks = await simulateMarketplace({
      url: values.url,
      accessKey: values.key,
      replayUrl,
      testFlag: values.live ? '0' : '1',
      deviceFingerprint: values.fingerprint,
      standIn,
      holdDatabase: database ? () => holdMarketplaceWrites(database) : undefined,
    });
    const failed = checks.filter((c) => !c.ok);
    const skipped = checks.filter((c) => c.skipped);
    print(io, values.json ?? false, { ok: failed.length === 0, checks }, () =>
      [
        ...checks.map((c) => (c.skipped ? `skip  ${c.name}\n      ${c.detail}` : c.ok ? `ok    ${c.name}` : `FAIL  ${c.name}\n      ${c.detail}`)),
        `simulation: ${checks.length - failed.length - skipped.length} of ${checks.length - skipped.length} checks passed${skipped.length ? `, ${skipped.length} skipped` : ''}`,
      ].join('\n'),
    );
    return failed.length === 0 ? 0 : 1;
  } finally {
    await standIn?.close();
  }
}
