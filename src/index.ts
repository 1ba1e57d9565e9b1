/**
 * licensor as a library, for running the server inside another Node process: build the
 * configuration as `licensor serve` does, then start it. The CLI (`bin/licensor.js`) is the usual
 * way in; docs/deploy.md says how to run it.
 *
 *   const server = await startServer(loadConfig(), createLogger('info'));
 *   …
 *   await server.close();
 */
export { loadConfig, ConfigError, type Config } from './config';
export { createLogger, type Logger } from './logger';
export { startServer, type RunningServer } from './server';
