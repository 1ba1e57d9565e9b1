import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config';
import { createLogger, type Logger } from '../../src/logger';
import { openRuntime, type Runtime } from '../../src/runtime';
import { startServer, type RunningServer } from '../../src/server';
import { TestClock } from './clock';
import { createTestDatabase, type EngineName, type TestDatabase } from './databases';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export function testConfig(db: TestDatabase, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    LICENSOR_PORT: '0',
    LICENSOR_DATA_DIR: db.dataDir,
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    LICENSOR_ADMIN_TOKEN: ADMIN_TOKEN,
    LICENSOR_LOG_LEVEL: 'silent',
    // Tests flush by hand or through the sweeper; the timer only has to exist.
    LICENSOR_HEARTBEAT_FLUSH_MS: '50',
    LICENSOR_SWEEP_INTERVAL_SECONDS: '3600',
    LICENSOR_SHUTDOWN_GRACE_MS: '0',
    // Suites that send hundreds of bad requests from one address are not guessers; the guard has its own suite.
    LICENSOR_GUESS_BURST: '100000',
    LICENSOR_GLOBAL_GUESS_BURST: '100000',
    LICENSOR_CODE_ATTEMPT_BURST: '100000',
    ...overrides,
  });
}

/** Captures log lines so tests can read what a run logged. */
export function captureLogger(level = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: createLogger(level, sink), lines };
}

export interface TestRuntime {
  db: TestDatabase;
  runtime: Runtime;
  clock: TestClock;
  close(): Promise<void>;
}

/** The domain over a real database, with a hand-moved clock. */
export async function startTestRuntime(engine: EngineName, overrides: Record<string, string> = {}): Promise<TestRuntime> {
  const db = await createTestDatabase(engine);
  const clock = new TestClock(Date.now());
  const runtime = await openRuntime(testConfig(db, overrides), { clock });
  return {
    db,
    runtime,
    clock,
    async close() {
      await runtime.close();
      await db.drop();
    },
  };
}

export interface TestServer {
  db: TestDatabase;
  running: RunningServer;
  clock: TestClock;
  url: string;
  logLines: string[];
  close(): Promise<void>;
}

/** A real server on loopback over a real database. */
export async function startTestServer(engine: EngineName, overrides: Record<string, string> = {}): Promise<TestServer> {
  const db = await createTestDatabase(engine);
  const clock = new TestClock(Date.now());
  const { logger, lines } = captureLogger();
  const running = await startServer(testConfig(db, overrides), logger, { clock });
  return {
    db,
    running,
    clock,
    url: running.url,
    logLines: lines,
    async close() {
      await running.close();
      await db.drop();
    },
  };
}
