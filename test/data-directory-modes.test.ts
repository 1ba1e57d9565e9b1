import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEnv, runCli } from './support/cli';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { serverEnv, spawnServer, startLog } from './support/processes';

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(4, '0');

/** The files licensor keeps in its data directory on each engine, while it runs. */
function filesOf(engine: string, dir: string): string[] {
  const sqlite = ['licensor.db', 'licensor.db-wal', 'licensor.db-shm'];
  return [...(engine === 'sqlite' ? sqlite : []), 'admin-token'].map((name) => join(dir, name));
}

const TIGHTENED = 'the data directory was open to other users: tightened to owner-only';

function tightenedLines(stdout: string): Array<{ level: number; msg: string; tightened: string[] }> {
  return stdout
    .split('\n')
    .filter((line) => line.includes(TIGHTENED))
    .map((line) => JSON.parse(line));
}

forEachEngine('the data directory at rest', (engine) => {
  let db: TestDatabase;
  let dataDir: string;
  /** The generated admin token, so that a log line can be checked for it. */
  let token: string;

  before(async () => {
    db = await createTestDatabase(engine);
    // A directory licensor has to create itself, inside the test's temporary one.
    dataDir = join(db.dataDir, 'data');
  });
  after(async () => db?.drop());

  const env = () => serverEnv(db, { LICENSOR_DATA_DIR: dataDir, LICENSOR_ADMIN_TOKEN: '' });

  it('is created 0700 at a first start, with every file licensor keeps in it 0600', async () => {
    const server = await spawnServer(env());
    try {
      assert.equal(modeOf(dataDir), '0700');
      for (const file of filesOf(engine, dataDir)) assert.equal(modeOf(file), '0600', file);
      token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    } finally {
      await server.stop();
    }
  });

  it('is tightened at start when it or its files are readable by others, and the log names each one in a single line', async () => {
    // A crash leaves SQLite's -wal and -shm behind; a copy or an older licensor leaves everything 0644.
    const server = await spawnServer(env());
    const ended = once(server.child.stdout!, 'end');
    await server.stop('SIGKILL');
    await ended;
    const loosened = [dataDir, ...filesOf(engine, dataDir)];
    for (const path of loosened) {
      assert.ok(existsSync(path), `${path} is there to loosen`);
      chmodSync(path, path === dataDir ? 0o755 : 0o644);
    }

    const stdout = await startLog(env());
    assert.equal(modeOf(dataDir), '0700');
    for (const file of filesOf(engine, dataDir).filter(existsSync)) assert.equal(modeOf(file), '0600', file);
    const [line, ...more] = tightenedLines(stdout);
    assert.equal(more.length, 0, 'one line');
    assert.equal(line!.level, 40);
    assert.deepEqual(
      line!.tightened,
      loosened.map((path) => `${path} ${path === dataDir ? '0755 -> 0700' : '0644 -> 0600'}`),
    );
    assert.ok(!stdout.includes(token), 'the admin token is never logged');
  });

  it('is left alone, and nothing is logged about it, when it is already owner-only', async () => {
    assert.deepEqual(tightenedLines(await startLog(env())), []);
  });
});

describe('a data directory made by a CLI command', () => {
  const home = mkdtempSync(join(tmpdir(), 'licensor-modes-'));
  after(() => rmSync(home, { recursive: true, force: true }));

  it('is owner-only as well: the first command creates it 0700 and the database 0600', async () => {
    const dataDir = join(home, 'data');
    const res = await runCli(
      ['products', 'create', '--name', 'cli-first'],
      cliEnv({ engine: 'sqlite', dataDir, databaseUrl: undefined, drop: async () => undefined }),
    );
    assert.equal(res.code, 0, res.err);
    assert.equal(modeOf(dataDir), '0700');
    assert.equal(modeOf(join(dataDir, 'licensor.db')), '0600');
  });
});
