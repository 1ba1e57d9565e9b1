import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, loadConfigReport } from '../src/config';
import { fileKeyOf } from '../src/config/file';
import { SETTINGS, settingsMarkdownTable } from '../src/config/settings';
import { runBinary, runCli } from './support/cli';
import { spawnServer } from './support/processes';

const ADMIN = 'admin-token-from-file-0123456789';
const METRICS = 'metrics-token-secret-0123456789';
const PG_PASSWORD = 's3cret-pg-password';

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('the configuration was accepted');
}

describe('configuration', () => {
  let dir: string;
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'licensor-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('from a configuration file', () => {
    it('reads camelCase keys named after the environment variables, lists as comma-separated values', () => {
      const path = file('licensor.json', {
        port: 8080,
        logLevel: 'warn',
        marketplaceKeys: ['mkp-key-00000001', 'mkp-key-00000002'],
        marketplaceRequireFingerprint: true,
        trustProxy: 'loopback',
      });
      const config = loadConfig({}, dir, { file: path });
      assert.equal(config.port, 8080);
      assert.equal(config.logLevel, 'warn');
      assert.deepEqual(config.marketplace.accessKeys, ['mkp-key-00000001', 'mkp-key-00000002']);
      assert.equal(config.marketplace.requireDeviceFingerprint, true);
      assert.equal(config.trustProxy, 'loopback');
    });

    it('lets an environment variable that is set and not empty win over the file', () => {
      const path = file('licensor.json', { port: 8080, host: '0.0.0.0' });
      const report = loadConfigReport({ LICENSOR_PORT: '9090', LICENSOR_HOST: '' }, dir, { file: path });
      assert.equal(report.config.port, 9090);
      assert.equal(report.config.host, '0.0.0.0');
      assert.deepEqual(
        report.sources.map((s) => [s.name, s.from]),
        [
          ['LICENSOR_HOST', 'file'],
          ['LICENSOR_PORT', 'environment'],
        ],
      );
    });

    it('is named by LICENSOR_CONFIG when no --config is given', () => {
      const path = file('from-env.json', { issuer: 'vendor.example' });
      assert.equal(loadConfig({ LICENSOR_CONFIG: path }, '/').issuer, 'vendor.example');
    });

    it('reads a relative data directory as relative to the file, not to where licensor was started', () => {
      mkdirSync(join(dir, 'etc'));
      const path = file('etc/licensor.json', { dataDir: '../var/licensor' });
      const config = loadConfig({}, '/somewhere/else', { file: path });
      assert.equal(config.dataDir, join(dir, 'var', 'licensor'));
      assert.equal(config.sqliteFile, join(dir, 'var', 'licensor', 'licensor.db'));
    });

    it('reports a misspelt key with the setting it probably meant', () => {
      const path = file('licensor.json', { prot: 8080, LICENSOR_HOST: '0.0.0.0', colour: 'blue' });
      assert.deepEqual(
        problemsOf(() => loadConfig({}, dir, { file: path })),
        [
          `"prot" in ${path} is not a setting (did you mean "port"?)`,
          `"LICENSOR_HOST" in ${path} is not a setting (did you mean "host"?)`,
          `"colour" in ${path} is not a setting`,
        ],
      );
    });

    it("names the file's key in a problem with a value from the file, and reports every problem of file and environment at once", () => {
      const path = file('licensor.json', { port: 'eighty', keyAlg: 'RS256', metricsToken: 'short', adminToken: { nested: true } });
      const problems = problemsOf(() => loadConfig({ LICENSOR_SWEEP_INTERVAL_SECONDS: '0' }, dir, { file: path }));
      assert.deepEqual(
        problems.sort(),
        [
          `"adminToken" in ${path} must be a string, number, boolean or list of them`,
          `"keyAlg" in ${path} must be EdDSA or ES256`,
          `"metricsToken" in ${path} must be at least 16 characters`,
          `"port" in ${path} must be a whole number from 0 to 65535 (got "eighty")`,
          'LICENSOR_SWEEP_INTERVAL_SECONDS must be a whole number from 1 to 86400 (got "0")',
        ].sort(),
      );
    });

    it('refuses a file that is missing, is not JSON, or is not an object, with one line saying which', () => {
      assert.deepEqual(
        problemsOf(() => loadConfig({}, dir, { file: join(dir, 'nope.json') })),
        [`config file ${join(dir, 'nope.json')} does not exist`],
      );
      const broken = file('broken.json', '{ "port": 80, }');
      assert.match(problemsOf(() => loadConfig({}, dir, { file: broken }))[0]!, new RegExp(`^config file ${broken} is not valid JSON: `));
      const list = file('list.json', [1, 2]);
      assert.deepEqual(
        problemsOf(() => loadConfig({}, dir, { file: list })),
        [`config file ${list} must hold a JSON object, e.g. { "port": 7300 }`],
      );
    });
  });

  describe('validation of the environment', () => {
    it('trusts proxies given as presets, addresses and subnets, and refuses anything else by name', () => {
      assert.equal(
        loadConfig({ LICENSOR_TRUST_PROXY: 'loopback, 10.0.0.0/8, 192.168.1.0/255.255.255.0, ::1, fd00::/8' }).trustProxy,
        'loopback, 10.0.0.0/8, 192.168.1.0/255.255.255.0, ::1, fd00::/8',
      );
      assert.equal(loadConfig({ LICENSOR_TRUST_PROXY: '2' }).trustProxy, 2);
      assert.equal(loadConfig({ LICENSOR_TRUST_PROXY: 'true' }).trustProxy, true);
      assert.deepEqual(
        problemsOf(() => loadConfig({ LICENSOR_TRUST_PROXY: 'yes, loopback, 10.0.0.0/33' })),
        [
          'LICENSOR_TRUST_PROXY must be true, false, a hop count or a list of loopback, linklocal, uniquelocal, addresses and subnets (not "yes", "10.0.0.0/33")',
        ],
      );
    });

    it('keeps 50,000 heartbeat views by default, 0 turns the cache off, and a negative size is refused', () => {
      assert.equal(loadConfig({}).heartbeatCacheEntries, 50_000);
      assert.equal(loadConfig({ LICENSOR_HEARTBEAT_CACHE_ENTRIES: '0' }).heartbeatCacheEntries, 0);
      assert.deepEqual(
        problemsOf(() => loadConfig({ LICENSOR_HEARTBEAT_CACHE_ENTRIES: '-1' })),
        ['LICENSOR_HEARTBEAT_CACHE_ENTRIES must be a whole number from 0 to 10000000 (got "-1")'],
      );
    });

    it('accepts a setting that no longer does anything, from the environment or a file, and names it with why', () => {
      assert.deepEqual(loadConfig({}).retired, []);
      const notice =
        'LICENSOR_SWEEP_PARALLEL_BATCHES (sweepParallelBatches) is no longer used: sweeper batches now go one at a time, in expiry-date order (docs/performance.md)';
      assert.deepEqual(loadConfig({ LICENSOR_SWEEP_PARALLEL_BATCHES: '2' }).retired, [notice]);
      const dir = mkdtempSync(join(tmpdir(), 'licensor-retired-'));
      try {
        const path = join(dir, 'licensor.json');
        writeFileSync(path, JSON.stringify({ sweepParallelBatches: 2, port: 7301 }));
        const config = loadConfig({}, dir, { file: path });
        assert.deepEqual([config.port, config.retired], [7301, [notice]]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('refuses an unknown log level and short metrics and admin tokens', () => {
      assert.deepEqual(problemsOf(() => loadConfig({ LICENSOR_LOG_LEVEL: 'verbose', LICENSOR_METRICS_TOKEN: 'abc' })).sort(), [
        'LICENSOR_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
        'LICENSOR_METRICS_TOKEN must be at least 16 characters',
      ]);
      assert.deepEqual(
        problemsOf(() => loadConfig({ LICENSOR_ADMIN_TOKEN: 'short' })),
        ['LICENSOR_ADMIN_TOKEN must be at least 16 characters'],
      );
    });
  });

  describe('the table of settings', () => {
    it("is the README's table, row for row", () => {
      const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
      const block = /<!-- settings:[^\n]*-->\n([\s\S]*?)\n<!-- \/settings -->/.exec(readme);
      assert.ok(block, 'the README has no settings block');
      assert.equal(block[1], settingsMarkdownTable(), 'the README is out of date: paste `licensor config settings` into it');
      for (const setting of SETTINGS) assert.ok(block[1].includes(`| \`${setting.name}\` |`), `${setting.name} is missing`);
    });

    it('drives reading: every setting is read from the environment and from a file by its camelCase key', () => {
      const junk = '\u0000 not a value';
      const refuses = (setting: (typeof SETTINGS)[number]) => {
        try {
          setting.parse(junk);
          return false;
        } catch {
          return true;
        }
      };
      for (const setting of SETTINGS) {
        const key = fileKeyOf(setting.name);
        if (refuses(setting)) {
          assert.ok(
            problemsOf(() => loadConfig({ [setting.name]: junk }, dir)).some((p) => p.startsWith(`${setting.name} `)),
            setting.name,
          );
          const fromFile = problemsOf(() => loadConfig({}, dir, { file: file('bad.json', { [key]: junk }) }));
          assert.ok(
            fromFile.some((p) => p.startsWith(`"${key}" in`)),
            key,
          );
        } else {
          // Free text: what is given is what is used.
          assert.equal(loadConfigReport({ [setting.name]: junk }, dir).shown[key], junk, setting.name);
          assert.equal(loadConfigReport({}, dir, { file: file('text.json', { [key]: junk }) }).shown[key], key === 'dataDir' ? join(dir, junk) : junk, key);
        }
      }
    });

    it('drives `licensor config check`: every setting is shown by its file key', () => {
      const shown = loadConfigReport({}, dir).shown;
      assert.deepEqual(Object.keys(shown).sort(), SETTINGS.map((s) => fileKeyOf(s.name)).sort());
    });

    it('is printed by `licensor config settings`', async () => {
      const run = await runCli(['config', 'settings'], {});
      assert.equal(run.code, 0, run.err);
      assert.equal(run.out.trimEnd(), settingsMarkdownTable());
    });
  });

  describe('licensor config check', () => {
    const secretsFile = () =>
      file('licensor.json', {
        adminToken: ADMIN,
        metricsToken: METRICS,
        databaseUrl: `postgres://licensor:${PG_PASSWORD}@db.internal:5432/licensor`,
        marketplaceKeys: 'mkp-secret-key-000001',
        openapiAksk: 'AKPUBLIC01:sk-very-secret-000001',
      });

    it('prints the effective configuration with every secret masked, and where each setting came from', async () => {
      const run = await runCli(['config', 'check', '--config', secretsFile()], { LICENSOR_PORT: '7400' });
      assert.equal(run.code, 0, run.err);
      for (const secret of [ADMIN, METRICS, PG_PASSWORD, 'mkp-secret-key-000001', 'sk-very-secret-000001'])
        assert.ok(!run.out.includes(secret), `${secret} was printed`);
      assert.match(run.out, /configuration is valid \(file: .*licensor\.json\)/);
      assert.match(run.out, /LICENSOR_PORT \(environment\)/);
      assert.match(run.out, /LICENSOR_ADMIN_TOKEN \(file: adminToken\)/);
      assert.match(run.out, /postgres:\/\/licensor:\*\*\*\*@db\.internal:5432\/licensor/);
      assert.match(run.out, /"accessKey": "AKPUBLIC01"/);
    });

    it('answers JSON with --json', async () => {
      const run = await runCli(['config', 'check', '--json', `--config=${secretsFile()}`], {});
      assert.equal(run.code, 0, run.err);
      assert.equal(run.json.valid, true);
      assert.equal(run.json.config.adminToken, '<set, masked>');
      assert.equal(run.json.config.port, 7300);
      assert.ok(run.json.sources.some((s: { name: string; from: string }) => s.name === 'LICENSOR_METRICS_TOKEN' && s.from === 'file'));
    });

    it('exits 2 with every problem on a line of its own', async () => {
      const path = file('bad.json', { port: -1, prot: 1 });
      const run = await runCli(['config', 'check'], { LICENSOR_CONFIG: path, LICENSOR_KEY_ALG: 'HS256' });
      assert.equal(run.code, 2);
      const lines = run.err.split('\n');
      assert.equal(lines[0], 'invalid configuration:');
      assert.deepEqual(
        lines.slice(1).sort(),
        [
          `  - "port" in ${path} must be a whole number from 0 to 65535 (got "-1")`,
          `  - "prot" in ${path} is not a setting (did you mean "port"?)`,
          '  - LICENSOR_KEY_ALG must be EdDSA or ES256',
        ].sort(),
      );
      const json = await runCli(['config', 'check', '--json'], { LICENSOR_CONFIG: path });
      assert.equal(json.code, 2);
      assert.equal(json.json.valid, false);
      assert.equal(json.json.problems.length, 2);
    });

    it('lets serve start with a setting that no longer does anything, and warn of it', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'licensor-retired-serve-'));
      const server = await spawnServer({ LICENSOR_DATA_DIR: dataDir, LICENSOR_SWEEP_PARALLEL_BATCHES: '2' });
      try {
        // Written before the start-up banner, on the other stream: give it a moment to arrive.
        for (let i = 0; i < 50 && !server.stdout().includes('no longer used'); i++) await new Promise((r) => setTimeout(r, 100));
        const line = server
          .stdout()
          .split('\n')
          .find((l) => l.includes('a setting is no longer used'));
        assert.ok(line, server.stdout());
        assert.match(JSON.parse(line).notice, /^LICENSOR_SWEEP_PARALLEL_BATCHES \(sweepParallelBatches\) is no longer used: /);
      } finally {
        await server.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('is what the real binary runs, and serve refuses to start on the same problems', async () => {
      const good = await runBinary(['config', 'check', '--config', secretsFile()], {});
      assert.equal(good.code, 0, good.err);
      assert.ok(!good.out.includes(ADMIN));
      const bad = file('bad.json', { port: 'x' });
      const serve = await runBinary(['serve', '--config', bad], {});
      assert.equal(serve.code, 2);
      assert.match(serve.err, /"port" in .*bad\.json must be a whole number/);
    });
  });
});
