import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { TestDatabase } from './databases';
import { ADMIN_TOKEN } from './harness';

export const BIN = join(__dirname, '..', '..', '..', 'bin', 'licensor.js');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  stdout: () => string;
  /** SIGTERM and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * A start takes well under a second; the bound only turns a hang into a failure that shows the
 * server's own output. Generous, because suites start servers on a loaded two-core machine.
 */
const START_TIMEOUT_MS = 45_000;

/** This process's environment without licensor's own settings, so a developer's shell cannot steer a test's server. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LICENSOR_') && name !== 'DATABASE_URL'));
}

/** Starts `licensor serve` as a real child process on a free port and waits for its whole start-up banner. */
export function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { ...cleanEnvironment(), LICENSOR_PORT: '0', LICENSOR_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${START_TIMEOUT_MS / 1000} s:\n${err}`));
    }, START_TIMEOUT_MS);
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m && /issue a first code/.test(err)) {
        clearTimeout(timer);
        resolve({
          child,
          url: m[1]!,
          stderr: () => err,
          stdout: () => out,
          stop: (signal = 'SIGTERM') => {
            if (child.exitCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${err}`));
    });
  });
}

/** The environment of a `licensor serve` child on a test database, with the tests' admin token. */
export function serverEnv(db: TestDatabase, extra: Record<string, string> = {}): Record<string, string> {
  return {
    LICENSOR_DATA_DIR: db.dataDir,
    LICENSOR_ADMIN_TOKEN: ADMIN_TOKEN,
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    // Racing activations from one address are not guesses; the guard has its own suites.
    LICENSOR_GUESS_BURST: '100000',
    LICENSOR_GLOBAL_GUESS_BURST: '100000',
    LICENSOR_CODE_ATTEMPT_BURST: '100000',
    ...extra,
  };
}

/** Everything `licensor serve` logged (stdout) from its start to its exit: it starts, stops, and its output is read to the end. */
export async function startLog(env: Record<string, string>): Promise<string> {
  const server = await spawnServer(env);
  const ended = server.child.stdout!.readableEnded ? Promise.resolve() : once(server.child.stdout!, 'end');
  await server.stop();
  await ended;
  return server.stdout();
}
