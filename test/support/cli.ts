import { execFile } from 'node:child_process';
import { main } from '../../src/cli/main';
import type { TestDatabase } from './databases';
import { BIN } from './processes';

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
export function runBinary(argv: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...argv], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? (error.code as number) : 0, out: stdout, err: stderr, json: parseJson(stdout) });
    });
  });
}

// The CLI suites start servers with the same helper as every other suite.
export { spawnServer, type ServerProcess } from './processes';
