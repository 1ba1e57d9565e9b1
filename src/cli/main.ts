import { loadConfigReport } from '../config';
import { openRuntime } from '../runtime';
import { codesCommand } from './commands/codes';
import { configCommand } from './commands/config';
import { keysCommand } from './commands/keys';
import { offlineCommand } from './commands/offline';
import { outboxCommand } from './commands/outbox';
import { productsCommand } from './commands/products';
import { serveCommand, SERVE_HELP } from './commands/serve';
import { simulateCommand } from './commands/simulate';
import { sweepCommand } from './commands/sweep';
import { tokensCommand } from './commands/tokens';
import { usageCommand } from './commands/usage';
import { webhooksCommand } from './commands/webhooks';
import { processIo, reportError, type Io } from './output';

export const HELP = `licensor — self-hosted authorization-code license server

Usage: licensor <command> [options]

Commands:
  serve                       run the server (HTTP APIs, sweeper)
  products create|update|list products and their seat policy
  codes issue|list|show|renew|freeze|unfreeze|release|import
  keys list|rotate            token signing keys
  tokens create|list|revoke   named admin tokens with a scope (read, codes, full)
  sweep                       expire and cull now
  usage                       software usage per code and day (marketplace open API)
  outbox summary|list|show|retry  calls licensor owes the marketplace, and those that failed
  webhooks list|add|show|enable|disable|rotate-secret|remove|deliveries|resend  endpoints told of every audited event
  config check                validate the configuration, print it with secrets masked
  config settings             every setting, its meaning and default (Markdown)
  simulate --url --key        play the marketplace (and its API) against a production-interface URL
  offline respond <request>   air-gapped activation: request file in, license file out
  fingerprint                 this machine's fingerprint components

Every command takes --help, and --json for output that scripts can read, and
--config <file> for a JSON configuration file (LICENSOR_CONFIG names one too; the
environment wins over the file).
The CLI works on the same data directory / DATABASE_URL as the server, also while it runs.

${SERVE_HELP.split('\n').slice(2).join('\n')}`;

interface CliDeps {
  env?: NodeJS.ProcessEnv;
  io?: Io;
}

/** Runs one CLI command; resolves to the exit code. */
export async function main(argv: string[], deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIo;
  const { file: configFile, rest: args } = takeConfigOption(argv);
  const [command, ...rest] = args;
  const json = rest.includes('--json');
  try {
    if (!command || command === '--help' || command === '-h' || command === 'help') {
      io.out(HELP);
      return command ? 0 : 2;
    }
    if (command === 'fingerprint') {
      // Loaded lazily: only this command needs the native addon.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { fingerprintCommand } = require('./commands/fingerprint') as typeof import('./commands/fingerprint');
      return await fingerprintCommand(rest, io);
    }
    // Configuration is read only when a command needs the database, so --help always works.
    const report = () => loadConfigReport(deps.env ?? process.env, undefined, configFile === undefined ? {} : { file: configFile });
    const config = () => report().config;
    // Talks to a URL; reads the configuration only to hold the server's database (--hold-database).
    if (command === 'simulate') return await simulateCommand(rest, config, io);
    // One-shot commands answer no heartbeat: no view cache, so no change feed to open and keep up.
    const open = () => openRuntime({ ...config(), heartbeatCacheEntries: 0 });
    switch (command) {
      case 'serve':
        return await serveCommand(rest, config, io);
      case 'config':
        return await configCommand(rest, report, io);
      case 'products':
        return await productsCommand(rest, open, io);
      case 'codes':
        return await codesCommand(rest, open, io);
      case 'keys':
        return await keysCommand(rest, open, io);
      case 'tokens':
        return await tokensCommand(rest, open, io);
      case 'sweep':
        return await sweepCommand(rest, open, io);
      case 'usage':
        return await usageCommand(rest, open, io);
      case 'outbox':
        return await outboxCommand(rest, open, io);
      case 'webhooks':
        return await webhooksCommand(rest, open, io);
      case 'offline':
        return await offlineCommand(rest, open, io);
      default:
        io.err(`error: unknown command "${command}"\n\n${HELP}`);
        return 2;
    }
  } catch (err) {
    return reportError(io, json, err);
  }
}

/** `--config <file>` / `--config=<file>` anywhere on the line, for every command. */
function takeConfigOption(argv: string[]): { file: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config' && i + 1 < argv.length) file = argv[++i];
    else if (arg.startsWith('--config=')) file = arg.slice('--config='.length);
    else rest.push(arg);
  }
  return { file, rest };
}
