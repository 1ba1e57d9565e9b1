import { loadConfig } from '../config';
import { openRuntime } from '../runtime';
import { CODES_HELP, codesCommand } from './commands/codes';
import { KEYS_HELP, keysCommand } from './commands/keys';
import { OFFLINE_HELP, offlineCommand } from './commands/offline';
import { PRODUCTS_HELP, productsCommand } from './commands/products';
import { serveCommand, SERVE_HELP } from './commands/serve';
import { simulateCommand, SIMULATE_HELP } from './commands/simulate';
import { sweepCommand, SWEEP_HELP } from './commands/sweep';
import { usageCommand, USAGE_HELP } from './commands/usage';
import { processIo, reportError, type Io } from './output';

export const HELP = `licensor — self-hosted authorization-code license server

Usage: licensor <command> [options]

Commands:
  serve                       run the server (HTTP APIs, sweeper)
  products create|list        products and their seat policy
  codes issue|list|show|renew|freeze|unfreeze|release
  keys list|rotate            token signing keys
  sweep                       expire and cull now
  usage                       software usage per code and day (marketplace open API)
  simulate --url --key        play the marketplace against a production-interface URL
  offline respond <request>   air-gapped activation: request file in, license file out
  fingerprint                 this machine's fingerprint components

Every command takes --help, and --json for output that scripts can read.
The CLI works on the same data directory / DATABASE_URL as the server, also while it runs.

${SERVE_HELP.split('\n').slice(2).join('\n')}`;

export interface CliDeps {
  env?: NodeJS.ProcessEnv;
  io?: Io;
}

/** Runs one CLI command; resolves to the exit code. */
export async function main(argv: string[], deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIo;
  const [command, ...rest] = argv;
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
      return await fingerprintCommand(rest);
    }
    // Talks to a URL only: no configuration, no database.
    if (command === 'simulate') return await simulateCommand(rest, io);
    // Configuration is read only when a command needs the database, so --help always works.
    const config = () => loadConfig(deps.env ?? process.env);
    const open = () => openRuntime(config());
    switch (command) {
      case 'serve':
        return await serveCommand(rest, config, io);
      case 'products':
        return await productsCommand(rest, open, io);
      case 'codes':
        return await codesCommand(rest, open, io);
      case 'keys':
        return await keysCommand(rest, open, io);
      case 'sweep':
        return await sweepCommand(rest, open, io);
      case 'usage':
        return await usageCommand(rest, open, io);
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

export const COMMAND_HELP = { codes: CODES_HELP, keys: KEYS_HELP, offline: OFFLINE_HELP, products: PRODUCTS_HELP, serve: SERVE_HELP, simulate: SIMULATE_HELP, sweep: SWEEP_HELP, usage: USAGE_HELP };
