import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import type { TestDatabase } from './databases';

export const BIN = join(__dirname, '..', '..', '..', 'bin', 'licensor.js');

export interface CliRun {
  code: number;
  out: string;
  err: string;
  /** stdout parsed as JSON (for --json runs). */
  json: any;
}

/** The environment a CLI run needs to reach a test database, and nothing from this process. */
export function cliEnv(db: TestDatabase, extra: Record<string, string> = {}): Record<string, string> {
  return {
    LICENSOR_DATA_DIR: db.dataDir,
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    LICENSOR_LOG_LEVEL: 'silent',
    ...extra,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Runs the CLI in this process with captured output. */
export async function runCli(argv: string[], env: Record<string, string>): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { env, io: { out: (t) => out.push(t), err: (t) => err.push(t) } });
  const stdout = out.join('\n');
  return { code, out: stdout, err: err.join('\n'), json: parseJson(stdout) };
}

/** Runs the real `licensor` binary as a child process. */
export function runBinary(argv: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...argv], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? (error.code as number) : 0, out: stdout, err: stderr, json: parseJson(stdout) });
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  banner: string;
  /** Sends SIGTERM to this child and resolves to its exit code. */
  stop(): Promise<number | null>;
}

/** Starts `licensor serve` as a real child process on a free port and waits for its banner. */
export function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { PATH: process.env.PATH ?? '', LICENSOR_PORT: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let banner = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`licensor serve printed no banner: ${banner}`));
    }, 30_000);
    const onEarlyExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`licensor serve exited with ${code}: ${banner}`));
    };
    child.once('exit', onEarlyExit);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      banner += chunk;
      const match = /licensor listening on (http:\/\/\S+)/.exec(banner);
      if (match && /issue a first code/.test(banner)) {
        clearTimeout(timer);
        child.off('exit', onEarlyExit);
        resolve({
          child,
          url: match[1]!,
          banner,
          stop: () => {
            if (child.exitCode === null) child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
  });
}
