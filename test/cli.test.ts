import { strict as assert } from 'node:assert';
import { loadConfig } from '../src/config';
import { issueCode } from '../src/domain/codes';
import { createProduct } from '../src/domain/products';
import { openRuntime } from '../src/runtime';
import { DAY, TestClock } from './support/clock';
import { cliEnv, runBinary, runCli, spawnServer, type CliRun } from './support/cli';
import { createTestDatabase, forEachEngine, type TestDatabase } from './support/databases';
import { machine } from './support/factories';
import { call } from './support/http';

const CODE_FORMAT = /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$/;

function ok(run: CliRun): CliRun {
  assert.equal(run.code, 0, `exit ${run.code}\nstdout: ${run.out}\nstderr: ${run.err}`);
  return run;
}

/** A refusal printed with --json: exit 1 (rules) or 2 (bad input), the error object on stdout. */
function refused(run: CliRun, exit: number, code: string): void {
  assert.equal(run.code, exit, `exit ${run.code}\nstdout: ${run.out}\nstderr: ${run.err}`);
  assert.ok(run.json?.error, `no JSON error on stdout: ${run.out}`);
  assert.equal(run.json.error.code, code);
  assert.equal(typeof run.json.error.message, 'string');
  assert.doesNotMatch(run.out + run.err, /\bat .+:\d+:\d+/, 'no stack trace');
}

describe('the licensor CLI: usage', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  before(async () => {
    db = await createTestDatabase('sqlite');
    env = cliEnv(db);
  });
  after(async () => db?.drop());

  const HELP: Array<[string[], RegExp]> = [
    [['--help'], /Usage: licensor <command>/],
    [['-h'], /Usage: licensor <command>/],
    [['help'], /Usage: licensor <command>/],
    [['serve', '--help'], /licensor serve/],
    [['products', '--help'], /licensor products create --name <name>/],
    [['products', 'create', '--help'], /licensor products create --name <name> \[--seat-mode node_locked\|floating\]/],
    [['products', 'list', '--help'], /licensor products list/],
    [['codes', '--help'], /licensor codes issue --product <name> --seats <n>/],
    [['codes', 'issue', '--help'], /licensor codes issue --product <name> --seats <n> \(--days <d>/],
    [['codes', 'list', '--help'], /licensor codes list/],
    [['codes', 'show', '--help'], /licensor codes show <code>/],
    [['codes', 'renew', '--help'], /licensor codes renew <code>/],
    [['codes', 'freeze', '--help'], /licensor codes freeze <code>/],
    [['codes', 'unfreeze', '--help'], /licensor codes unfreeze <code>/],
    [['codes', 'release', '--help'], /licensor codes release <code>/],
    [['codes', 'show', '-h'], /licensor codes show <code>/],
    [['keys', '--help'], /licensor keys list/],
    [['keys', 'list', '--help'], /licensor keys list/],
    [['keys', 'rotate', '--help'], /licensor keys rotate/],
    [['sweep', '--help'], /licensor sweep/],
  ];
  for (const [argv, usage] of HELP) {
    it(`prints usage for "licensor ${argv.join(' ')}" and exits 0`, async () => {
      const run = ok(await runCli(argv, env));
      assert.match(run.out, usage);
      assert.equal(run.err, '');
    });
  }

  it('lists every command in the top-level help', async () => {
    const run = ok(await runCli(['--help'], env));
    for (const command of [
      'serve',
      'products create|update|list',
      'tokens create|list|revoke',
      'codes issue|list|show|renew|freeze|unfreeze|release',
      'keys list|rotate',
      'sweep',
    ]) {
      assert.ok(run.out.includes(command), command);
    }
    for (const variable of ['LICENSOR_PORT', 'LICENSOR_DATA_DIR', 'DATABASE_URL', 'LICENSOR_ADMIN_TOKEN']) assert.ok(run.out.includes(variable), variable);
  });

  it('prints usage and exits 2 without a command', async () => {
    const run = await runCli([], env);
    assert.equal(run.code, 2);
    assert.match(run.out + run.err, /Usage: licensor <command>/);
  });

  const USAGE_ERRORS: Array<[string[], RegExp]> = [
    [['bogus'], /unknown command "bogus"/],
    [['codes', 'bogus'], /unknown codes command "bogus"/],
    [['products', 'bogus'], /unknown products command "bogus"/],
    [['keys', 'bogus'], /unknown keys command "bogus"/],
    [['codes', 'list', '--bogus'], /Unknown option '--bogus'/],
    [['codes', 'issue', '--product', 'x', '--seats', '1', '--days', '1', '--colour', 'red'], /Unknown option '--colour'/],
    [['products', 'create', '--name', 'x', '--seatmode', 'floating'], /Unknown option '--seatmode'/],
    [['keys', 'list', '--all'], /Unknown option '--all'/],
    [['sweep', '--now'], /Unknown option '--now'/],
    [['serve', '--port', '80'], /Unknown option '--port'/],
    [['sweep', 'extra'], /sweep takes no positional argument/],
    [['keys', 'list', 'extra'], /keys list takes no positional argument/],
    [['products', 'list', 'extra'], /products list takes no positional argument/],
    [['codes', 'list', 'extra'], /codes list takes no positional argument/],
    [['codes', 'show'], /codes show takes exactly one <code>/],
    [['codes', 'freeze', 'A', 'B'], /codes freeze takes exactly one <code>/],
    [['codes', 'issue', '--product', 'x', '--seats', 'many', '--days', '1'], /--seats must be a whole number/],
    [['codes', 'issue', '--product', 'x', '--seats', '0', '--days', '1'], /--seats must be a whole number/],
    [['codes', 'issue', '--product', 'x', '--seats', '1', '--days', '1.5'], /--days must be a whole number/],
    [['codes', 'renew', 'ABCDE-FGHJK-MNPQR-STVWX-YZ234', '--days=-3'], /--days must be a whole number/],
    [['products', 'create'], /--name is required/],
    [['codes', 'list', '--limit', '0'], /limit/],
    [['products', 'publish-version', '--name', 'x'], /--version is required/],
    [['offline', 'bogus'], /unknown offline command "bogus"/],
    [['offline', 'respond'], /offline respond takes exactly one request file/],
    [['offline', 'respond', 'a.json', 'b.json'], /offline respond takes exactly one request file/],
    [['config', 'bogus'], /unknown config command "bogus"/],
    [['simulate', '--key', 'k'], /--url must be the production URL/],
    [['simulate', '--url', 'ftp://x', '--key', 'k'], /--url must be the production URL/],
    [['simulate', '--url', 'http://127.0.0.1:9'], /--key must be the marketplace access key/],
    [['simulate', '--url', 'http://127.0.0.1:9', '--key', 'k', '--replay-url', 'x'], /--replay-url must be an http\(s\):\/\/ URL/],
    [['simulate', '--url', 'http://127.0.0.1:9', '--key', 'k', '--serve-marketplace', 'nowhere', '--aksk', 'A:S'], /--serve-marketplace must be <host>:<port>/],
    [['simulate', '--url', 'http://127.0.0.1:9', '--key', 'k', '--serve-marketplace', '127.0.0.1:7401'], /--serve-marketplace and --aksk go together/],
    [['simulate', '--url', 'http://127.0.0.1:9', '--key', 'k', '--serve-marketplace', '127.0.0.1:7401', '--aksk', 'no-colon'], /--aksk must be one AK:SK pair/],
    [['codes', 'import'], /codes import takes exactly one <file>/],
    [['codes', 'import', '/no/such/file.csv'], /cannot read \/no\/such\/file.csv: ENOENT/],
    [['outbox', 'bogus'], /unknown outbox command "bogus"/],
    [['outbox', 'retry'], /outbox retry takes exactly one <id>/],
    [['outbox', 'list', '--status', 'lost'], /status/],
  ];
  for (const [argv, message] of USAGE_ERRORS) {
    it(`exits 2 with a clear message for "licensor ${argv.join(' ')}"`, async () => {
      const run = await runCli(argv, env);
      assert.equal(run.code, 2, `exit ${run.code}: ${run.out} ${run.err}`);
      assert.match(run.err + run.out, message);
      assert.doesNotMatch(run.err + run.out, /\bat .+:\d+:\d+/, 'no stack trace');
    });
  }

  it('exits 2 and names the variable when the configuration is invalid', async () => {
    const run = await runCli(['codes', 'list'], { ...env, LICENSOR_PORT: 'eighty' });
    assert.equal(run.code, 2);
    assert.match(run.err, /LICENSOR_PORT/);
    const bad = await runCli(['codes', 'list'], { ...env, DATABASE_URL: 'mysql://localhost/x' });
    assert.equal(bad.code, 2);
    assert.match(bad.err, /DATABASE_URL/);
  });

  it('exits 2 through the real binary for an unknown command and an unknown flag', async () => {
    const unknown = await runBinary(['bogus'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown command "bogus"/);
    const flag = await runBinary(['codes', 'list', '--bogus'], env);
    assert.equal(flag.code, 2);
    assert.match(flag.err, /Unknown option '--bogus'/);
    const help = await runBinary(['codes', '--help'], env);
    assert.equal(help.code, 0);
    assert.match(help.out, /licensor codes issue/);
  });
});

forEachEngine('the licensor CLI', (engine) => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let seq = 0;

  before(async () => {
    db = await createTestDatabase(engine);
    env = cliEnv(db);
  });
  after(async () => db?.drop());

  const cli = (...argv: string[]) => runCli(argv, env);
  const newName = () => `cli-${engine}-${++seq}`;

  async function product(...extra: string[]): Promise<string> {
    const name = newName();
    ok(await cli('products', 'create', '--name', name, ...extra, '--json'));
    return name;
  }

  async function issue(name: string, ...extra: string[]): Promise<any> {
    return ok(await cli('codes', 'issue', '--product', name, '--seats', '1', '--days', '30', ...extra, '--json')).json;
  }

  describe('the contract commands', () => {
    it('creates a product with --json and prints it as a JSON object', async () => {
      const name = newName();
      const run = ok(await cli('products', 'create', '--name', name, '--json'));
      assert.equal(run.json.name, name);
      assert.equal(run.json.seatMode, 'node_locked');
      assert.match(run.json.id, /^[0-9a-f-]{36}$/);
    });

    it('creates a floating product with --seat-mode floating', async () => {
      const name = newName();
      const run = ok(
        await cli(
          'products',
          'create',
          '--name',
          name,
          '--seat-mode',
          'floating',
          '--lease-seconds',
          '600',
          '--heartbeat-seconds',
          '120',
          '--match',
          'loose',
          '--json',
        ),
      );
      assert.deepEqual([run.json.seatMode, run.json.leaseSeconds, run.json.heartbeatIntervalSeconds, run.json.matchStrategy], ['floating', 600, 120, 'loose']);
    });

    it('issues a code with --json and prints a JSON object with the code', async () => {
      const name = await product();
      const started = Date.now();
      const run = ok(await cli('codes', 'issue', '--product', name, '--seats', '5', '--days', '30', '--json'));
      const ended = Date.now();
      assert.match(run.json.code, CODE_FORMAT);
      assert.equal(run.json.product, name);
      assert.equal(run.json.seats, 5);
      assert.equal(run.json.status, 'issued');
      const expires = Date.parse(run.json.expiresAt);
      assert.ok(expires >= started + 30 * DAY && expires <= ended + 30 * DAY, run.json.expiresAt);
    });

    it('runs both contract commands through the real binary', async () => {
      const name = newName();
      const created = await runBinary(['products', 'create', '--name', name, '--seat-mode', 'floating', '--json'], env);
      assert.equal(created.code, 0, created.err);
      assert.equal(created.json.name, name);
      assert.equal(created.json.seatMode, 'floating');
      const issued = await runBinary(['codes', 'issue', '--product', name, '--seats', '2', '--days', '7', '--json'], env);
      assert.equal(issued.code, 0, issued.err);
      assert.match(issued.json.code, CODE_FORMAT);
      assert.equal(issued.json.seats, 2);
      const shown = ok(await cli('codes', 'show', issued.json.code, '--json'));
      assert.equal(shown.json.id, issued.json.id);
    });

    it('prints refusals as JSON with --json and exits 1', async () => {
      const name = await product();
      refused(await cli('products', 'create', '--name', name, '--json'), 1, 'product_exists');
      refused(await cli('codes', 'issue', '--product', 'no-such-product', '--seats', '1', '--days', '1', '--json'), 1, 'product_not_found');
      refused(await runBinary(['products', 'create', '--name', name, '--json'], env), 1, 'product_exists');
    });

    it('prints bad input refused by the rules as JSON with --json and exits 2', async () => {
      refused(await cli('products', 'create', '--name', 'has space', '--json'), 2, 'invalid_request');
      refused(await cli('products', 'create', '--name', newName(), '--seat-mode', 'shared', '--json'), 2, 'invalid_request');
      const name = await product();
      refused(await cli('codes', 'issue', '--product', name, '--seats', '1', '--json'), 2, 'invalid_request');
      refused(await cli('codes', 'issue', '--product', name, '--seats', '1', '--expires', '2000-01-01T00:00:00Z', '--json'), 2, 'expiry_in_past');
    });

    it('prints refusals as one line on stderr without --json', async () => {
      const name = await product();
      const run = await cli('products', 'create', '--name', name);
      assert.equal(run.code, 1);
      assert.equal(run.out, '');
      assert.match(run.err, /^error: product_exists: /);
    });
  });

  describe('products', () => {
    it('lists products as JSON and as a table', async () => {
      const name = await product('--seat-mode', 'floating');
      const json = ok(await cli('products', 'list', '--json'));
      assert.ok(Array.isArray(json.json));
      assert.equal(json.json.find((p: { name: string }) => p.name === name).seatMode, 'floating');
      const text = ok(await cli('products', 'list'));
      assert.match(text.out, /^NAME\s+SEAT_MODE/);
      assert.match(text.out, new RegExp(`${name}\\s+floating`));
    });

    it('updates a policy, says when nothing changed, and refuses what cannot be applied', async () => {
      const name = await product('--churn-limit', '5');
      const run = ok(
        await cli('products', 'update', '--name', name, '--lease-seconds', '86400', '--heartbeat-seconds', '3600', '--churn-limit', 'none', '--json'),
      );
      assert.equal(run.json.changed, true);
      assert.deepEqual([run.json.product.leaseSeconds, run.json.product.heartbeatIntervalSeconds, run.json.product.churnLimit], [86_400, 3600, null]);
      assert.match(ok(await cli('products', 'update', '--name', name, '--lease-seconds', '86400')).out, /already had that policy; nothing changed/);
      refused(await cli('products', 'update', '--name', name, '--json'), 2, 'invalid_request');
      refused(await cli('products', 'update', '--name', name, '--containers', 'instance', '--json'), 2, 'containers_need_floating');
      refused(await cli('products', 'update', '--name', 'nope', '--reclaim', 'soft', '--json'), 1, 'product_not_found');
    });
  });

  describe('tokens', () => {
    it('creates a token shown once, lists it without the token, and revokes it', async () => {
      const name = await product();
      const created = ok(await cli('tokens', 'create', '--name', `seller-${engine}`, '--scope', 'codes', '--products', name, '--json'));
      assert.match(created.json.secret, /^lsr_/);
      assert.deepEqual(created.json.token.products, [name]);
      const human = ok(await cli('tokens', 'create', '--name', `reader-${engine}`, '--scope', 'read'));
      assert.match(human.out, /shown this once/);
      const listed = ok(await cli('tokens', 'list'));
      assert.match(listed.out, /^NAME\s+SCOPE\s+PRODUCTS/);
      assert.match(listed.out, new RegExp(`seller-${engine}\\s+codes\\s+${name}`));
      assert.ok(!listed.out.includes(created.json.secret));
      assert.equal(ok(await cli('tokens', 'revoke', '--name', `seller-${engine}`, '--json')).json.changed, true);
      assert.match(ok(await cli('tokens', 'revoke', '--name', `seller-${engine}`)).out, /already revoked/);
      refused(await cli('tokens', 'create', '--name', `x-${engine}`, '--scope', 'codes', '--json'), 2, 'token_products_required');
      refused(await cli('tokens', 'create', '--name', `reader-${engine}`, '--scope', 'read', '--json'), 1, 'token_exists');
      refused(await cli('tokens', 'revoke', '--name', 'never', '--json'), 1, 'token_not_found');
    });
  });

  describe('codes', () => {
    it('issues with an expiry instant, features and the test flag', async () => {
      const name = await product();
      const run = ok(
        await cli(
          'codes',
          'issue',
          '--product',
          name,
          '--seats',
          '3',
          '--expires',
          '2099-01-02T03:04:05Z',
          '--feature',
          'pro',
          '--feature',
          'export',
          '--test',
          '--json',
        ),
      );
      assert.equal(run.json.expiresAt, '2099-01-02T03:04:05.000Z');
      assert.deepEqual(run.json.features, ['pro', 'export']);
      assert.equal(run.json.test, true);
    });

    it('prints the code first and a summary for people', async () => {
      const name = await product();
      const run = ok(await cli('codes', 'issue', '--product', name, '--seats', '1', '--days', '1'));
      assert.match(run.out.split('\n')[0]!, CODE_FORMAT);
      assert.match(run.out, new RegExp(`product ${name}, 1 seat`));
    });

    it('lists with product, status, search and test filters, and pages with --cursor', async () => {
      const name = await product();
      const a = await issue(name);
      const b = await issue(name);
      const t = await issue(name, '--test');
      ok(await cli('codes', 'freeze', b.code));
      const all = ok(await cli('codes', 'list', '--product', name, '--json')).json;
      assert.deepEqual(new Set(all.items.map((c: { id: string }) => c.id)), new Set([a.id, b.id, t.id]));
      assert.equal(all.nextCursor, null);
      const frozen = ok(await cli('codes', 'list', '--product', name, '--status', 'frozen', '--json')).json;
      assert.deepEqual(
        frozen.items.map((c: { id: string }) => c.id),
        [b.id],
      );
      const tests = ok(await cli('codes', 'list', '--product', name, '--test', '--json')).json;
      assert.deepEqual(
        tests.items.map((c: { id: string }) => c.id),
        [t.id],
      );
      const found = ok(await cli('codes', 'list', '--search', a.code.slice(0, 8).toLowerCase(), '--json')).json;
      assert.ok(found.items.some((c: { id: string }) => c.id === a.id));

      const seen: string[] = [];
      let page = ok(await cli('codes', 'list', '--product', name, '--limit', '2', '--json')).json;
      seen.push(...page.items.map((c: { id: string }) => c.id));
      assert.ok(page.nextCursor);
      page = ok(await cli('codes', 'list', '--product', name, '--limit', '2', '--cursor', page.nextCursor, '--json')).json;
      seen.push(...page.items.map((c: { id: string }) => c.id));
      assert.equal(page.nextCursor, null);
      assert.deepEqual(
        seen,
        all.items.map((c: { id: string }) => c.id),
      );

      const text = ok(await cli('codes', 'list', '--product', name, '--limit', '2'));
      assert.match(text.out, /^CODE\s+PRODUCT\s+STATUS/);
      assert.match(text.out, /\(more: --cursor \S+\)/);
    });

    it('refuses an unknown status in a list with exit 2', async () => {
      refused(await cli('codes', 'list', '--status', 'sleeping', '--json'), 2, 'invalid_request');
    });

    it('shows a code by its printed form, typed form or id', async () => {
      const name = await product();
      const code = await issue(name);
      for (const ref of [code.code, code.code.replace(/-/g, '').toLowerCase(), code.id]) {
        const run = ok(await cli('codes', 'show', ref, '--json'));
        assert.equal(run.json.id, code.id);
        assert.deepEqual(run.json.activations, []);
      }
      const text = ok(await cli('codes', 'show', code.code));
      assert.match(text.out, /seats\s+0 of 1 in use/);
      refused(await cli('codes', 'show', 'ABCDE-FGHJK-MNPQR-STVWX-YZ234', '--json'), 1, 'code_not_found');
    });

    it('renews by days from the current expiry, and shortens with --until', async () => {
      const name = await product();
      const code = await issue(name);
      const renewed = ok(await cli('codes', 'renew', code.code, '--days', '10', '--json')).json;
      assert.equal(renewed.changed, true);
      assert.equal(renewed.code.expiresAt, new Date(Date.parse(code.expiresAt) + 10 * DAY).toISOString());
      const until = '2099-01-01T00:00:00.000Z';
      const longer = ok(await cli('codes', 'renew', code.code, '--until', until, '--json')).json;
      assert.equal(longer.code.expiresAt, until);
      const shorter = new Date(Date.now() + 3 * DAY).toISOString();
      const shortened = ok(await cli('codes', 'renew', code.code, '--until', shorter, '--json')).json;
      assert.equal(shortened.code.expiresAt, shorter);
      const same = ok(await cli('codes', 'renew', code.code, '--until', shorter, '--json')).json;
      assert.equal(same.changed, false);
      refused(await cli('codes', 'renew', code.code, '--json'), 2, 'invalid_request');
    });

    it('freezes, unfreezes and releases, answering changed:false on repeats', async () => {
      const name = await product();
      const code = await issue(name);
      const steps: Array<[string, string, boolean]> = [
        ['freeze', 'frozen', true],
        ['freeze', 'frozen', false],
        ['unfreeze', 'issued', true],
        ['unfreeze', 'issued', false],
        ['release', 'released', true],
        ['release', 'released', false],
      ];
      for (const [action, status, changed] of steps) {
        const run = ok(await cli('codes', action, code.code, '--json')).json;
        assert.deepEqual([run.code.status, run.changed], [status, changed], action);
      }
      const text = ok(await cli('codes', 'release', code.code));
      assert.match(text.out, /released \(already\)/);
    });

    it('refuses to freeze, unfreeze or renew a released code with illegal_transition, exit 1', async () => {
      const name = await product();
      const code = await issue(name);
      ok(await cli('codes', 'release', code.code));
      refused(await cli('codes', 'freeze', code.code, '--json'), 1, 'illegal_transition');
      refused(await cli('codes', 'unfreeze', code.code, '--json'), 1, 'illegal_transition');
      refused(await cli('codes', 'renew', code.code, '--days', '3', '--json'), 1, 'illegal_transition');
      for (const action of ['freeze', 'unfreeze', 'release']) {
        refused(await cli('codes', action, 'ABCDE-FGHJK-MNPQR-STVWX-YZ234', '--json'), 1, 'code_not_found');
      }
    });
  });

  describe('keys', () => {
    it('lists keys without private material and rotates to a new current key', async () => {
      const before = ok(await cli('keys', 'list', '--json'));
      assert.doesNotMatch(before.out, /PRIVATE|privateKey|"d"\s*:/i);
      const active = before.json.filter((k: { status: string }) => k.status === 'active');
      assert.equal(active.length, 1);
      const rotated = ok(await cli('keys', 'rotate', '--json'));
      assert.doesNotMatch(rotated.out, /PRIVATE|privateKey|"d"\s*:/i);
      assert.notEqual(rotated.json.current.kid, active[0].kid);
      assert.deepEqual(
        rotated.json.retired.map((k: { kid: string }) => k.kid),
        [active[0].kid],
      );
      const after = ok(await cli('keys', 'list', '--json'));
      const byKid = new Map(after.json.map((k: { kid: string; status: string }) => [k.kid, k.status]));
      assert.equal(byKid.get(rotated.json.current.kid), 'active');
      assert.equal(byKid.get(active[0].kid), 'retired');
      const table = ok(await cli('keys', 'list'));
      assert.match(table.out, /^KID\s+ALG\s+STATUS/);
      assert.doesNotMatch(table.out, /PRIVATE/);
    });
  });

  describe('sweep', () => {
    it('expires codes past their date and reports what it did', async () => {
      // Issue a code "ten days ago" that expired yesterday, through the domain with a hand-set clock.
      const runtime = await openRuntime(loadConfig(env), { clock: new TestClock(Date.now() - 10 * DAY) });
      let codeId: string;
      try {
        const p = await createProduct(runtime.ctx, { name: newName() }, 'test');
        codeId = (await issueCode(runtime.ctx, { product: p.name, seats: 1, validity: { expiresAt: Date.now() - DAY } }, 'test')).id;
      } finally {
        await runtime.close();
      }
      const run = ok(await cli('sweep', '--json'));
      assert.equal(run.json.ran, true);
      assert.ok(run.json.expired >= 1, run.out);
      assert.ok(Number.isInteger(run.json.ms) && run.json.ms >= 0, 'says how long the sweep took');
      const shown = ok(await cli('codes', 'show', codeId, '--json'));
      assert.equal(shown.json.storedStatus, 'expired');
      const again = ok(await cli('sweep'));
      assert.match(again.out, /expired 0 code\(s\), culled 0 seat\(s\), released 0 code\(s\) in \d+\.\d\d s/);
    });
  });

  describe('beside a running server', () => {
    it('issues a code that then activates over HTTP against a server on the same data', async () => {
      const server = await spawnServer({ ...env, LICENSOR_ADMIN_TOKEN: 'cli-beside-server-token' });
      try {
        assert.match(server.stderr(), new RegExp(`\\(${engine}: `));
        const name = newName();
        const created = await runBinary(['products', 'create', '--name', name, '--json'], env);
        assert.equal(created.code, 0, created.err);
        const issued = await runBinary(['codes', 'issue', '--product', name, '--seats', '1', '--days', '30', '--json'], env);
        assert.equal(issued.code, 0, issued.err);

        const activated = await call(server.url, 'POST', '/v1/activations', { code: issued.json.code, fingerprint: machine('beside-server') });
        assert.equal(activated.status, 201, activated.text);
        assert.equal(activated.body.license.status, 'alive');
        assert.equal(activated.body.license.product, name);

        const shown = ok(await cli('codes', 'show', issued.json.code, '--json'));
        assert.equal(shown.json.status, 'alive');
        assert.deepEqual(
          shown.json.activations.map((a: { id: string }) => a.id),
          [activated.body.activation.id],
        );

        // And the other way round: a freeze by the CLI is seen by the running server at once.
        ok(await cli('codes', 'freeze', issued.json.code));
        const beat = await call(server.url, 'POST', '/v1/heartbeat', {
          activationId: activated.body.activation.id,
          secret: activated.body.activation.secret,
          fingerprint: machine('beside-server'),
        });
        assert.equal(beat.status, 200, beat.text);
        assert.equal(beat.body.status, 'frozen');
        assert.equal(beat.body.token, null);

        const admin = await call(server.url, 'GET', `/v1/admin/codes/${issued.json.id}`, undefined, { authorization: 'Bearer cli-beside-server-token' });
        assert.equal(admin.body.code.status, 'frozen');
      } finally {
        assert.equal(await server.stop(), 0, 'the server exits cleanly on SIGTERM');
      }
    });

    it('makes a token the running server accepts at once, and refuses at once when revoked', async () => {
      const server = await spawnServer({ ...env, LICENSOR_ADMIN_TOKEN: 'cli-beside-server-token' });
      try {
        const token = ok(await cli('tokens', 'create', '--name', `ops-${engine}`, '--scope', 'read', '--json')).json.secret;
        const auth = { authorization: `Bearer ${token}` };
        assert.equal((await call(server.url, 'GET', '/v1/admin/whoami', undefined, auth)).body.name, `ops-${engine}`);
        assert.equal((await call(server.url, 'POST', '/v1/admin/keys/rotate', undefined, auth)).status, 403);
        ok(await cli('tokens', 'revoke', '--name', `ops-${engine}`));
        assert.equal((await call(server.url, 'GET', '/v1/admin/whoami', undefined, auth)).status, 401);
      } finally {
        assert.equal(await server.stop(), 0, 'the server exits cleanly on SIGTERM');
      }
    });
  });
});
