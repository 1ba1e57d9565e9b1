import { createLogger, type Logger } from '../../logger';
import { startWarnings, type Config } from '../../config';
import type { AtRest } from '../../runtime';
import { startServer } from '../../server';
import { parseCommand } from '../args';
import type { Io } from '../output';

export const SERVE_HELP = `licensor serve — run the license server

Configuration comes from the environment:
  LICENSOR_PORT       listen port (default 7300; 0 picks a free one)
  LICENSOR_HOST       listen address (default 127.0.0.1; 0.0.0.0 for every interface)
  LICENSOR_DATA_DIR   SQLite file and generated admin token (default ./data)
  DATABASE_URL        postgres://… to use PostgreSQL instead of SQLite
  LICENSOR_ADMIN_TOKEN  admin API bearer token (default: generated once, kept in <data dir>/admin-token)
  LICENSOR_KEY_ENCRYPTION_KEY  seals the signing keys in the database (openssl rand -hex 32)`;

/** Runs until SIGINT/SIGTERM, then finishes in-flight requests and flushes buffered writes. */
export async function serveCommand(argv: string[], loadConfig: () => Config, io: Io): Promise<number> {
  const { values } = parseCommand(argv, {});
  if (values.help) {
    io.out(SERVE_HELP);
    return 0;
  }
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  for (const notice of config.retired) logger.warn({ notice }, 'a setting is no longer used');
  for (const notice of startWarnings(config)) logger.warn({ notice }, 'check this setting');
  const running = await startServer(config, logger);
  const { runtime, adminToken } = running;
  logKeysAtRest(logger, config, runtime.atRest);
  const lines = [
    `licensor listening on ${running.url}  (${runtime.database.engine}: ${runtime.database.location})`,
    // Where the token is, never the token: stderr ends up in journals and CI logs that others read.
    adminToken.generated
      ? `admin token: generated, kept in ${adminToken.file} (readable by this user only)`
      : adminToken.file
        ? `admin token: in ${adminToken.file}`
        : 'admin token: from LICENSOR_ADMIN_TOKEN',
    'issue a first code:',
    '  npx licensor products create --name my-app',
    '  npx licensor codes issue --product my-app --seats 1 --days 30',
  ];
  io.err(lines.join('\n'));
  logger.info({ url: running.url, engine: runtime.database.engine }, 'listening');

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      running.close().then(resolve, (err) => {
        logger.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

/** What this start did for the keys at rest, and the warning while they are unsealed (docs/deploy.md "Signing keys at rest"). */
function logKeysAtRest(logger: Logger, config: Config, atRest: AtRest): void {
  if (atRest.tightened.length > 0) logger.warn({ tightened: atRest.tightened }, 'the data directory was open to other users: tightened to owner-only');
  if (atRest.dropped.length > 0) logger.info({ kids: atRest.dropped }, 'dropped the private half of retired signing keys');
  if (atRest.sealed.length > 0) logger.info({ kids: atRest.sealed }, 'sealed signing keys with LICENSOR_KEY_ENCRYPTION_KEY');
  if (config.keyEncryptionKey === undefined) {
    logger.warn(
      'signing keys are stored unsealed in the database: set LICENSOR_KEY_ENCRYPTION_KEY (openssl rand -hex 32) for every licensor process and the CLI, and restart; licensor seals them at start',
    );
  }
}
