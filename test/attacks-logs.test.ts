import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { generateAuthorizationCode } from '../src/domain/authorization-code';
import { createLogger } from '../src/logger';
import { DAY } from './support/clock';
import { forEachEngine } from './support/databases';
import { startTestServer, type TestServer } from './support/harness';
import { admin } from './support/http';
import { issueCode } from './support/license-clients';
import { openSideConnection } from './support/marketplace';

/** What the logs give away: secrets inside a logged error, at any depth, and from background work. */

describe('attack: secrets inside logged errors', () => {
  it('scrubs codes, tokens and keys from every field of a logged error, however deep', () => {
    const lines: string[] = [];
    const code = generateAuthorizationCode();
    const grouped = code.replace(/(.{5})(?!$)/g, '$1-');
    const token = `eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.${randomBytes(64).toString('base64url')}`;
    const pem = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIK\n-----END PRIVATE KEY-----';
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) } as never);
    const cause = Object.assign(new Error('inner'), { detail: `Key (code)=(${code}) already exists`, query: { values: [grouped, token] } });
    const err = Object.assign(new Error('outer', { cause }), {
      details: { nested: { deeper: [{ token }, pem] } },
      aggregate: new AggregateError([new Error(`failed for ${grouped}`)], 'several'),
    });
    logger.error({ err }, 'something failed');
    const log = lines.join('\n');
    assert.ok(log.includes('something failed'));
    for (const secret of [code, grouped, token, 'MC4CAQAwBQYDK2VwBCIEIK']) assert.ok(!log.includes(secret), `the log holds ${secret.slice(0, 12)}…`);
  });

  forEachEngine('the sweeper', (engine) => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(engine);
      await admin(server.url, 'POST', '/v1/admin/products', { name: 'swept' });
    });
    after(async () => server?.close());

    it('logs a failed sweep as the error itself (type, message, stack), scrubbed', async () => {
      const code = await issueCode(server, 'swept', 1, 1);
      const side = openSideConnection(server.db);
      // A database that refuses the sweep with a message quoting a code, as a driver's message may.
      const message = `cannot expire ${code}`;
      try {
        if (engine === 'sqlite') {
          await side.raw(`CREATE TRIGGER refuse_sweep BEFORE UPDATE ON codes BEGIN SELECT RAISE(ABORT, '${message}'); END`);
        } else {
          await side.raw(`CREATE FUNCTION refuse_sweep() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '${message}'; END $$ LANGUAGE plpgsql`);
          await side.raw('CREATE TRIGGER refuse_sweep BEFORE UPDATE ON codes FOR EACH ROW EXECUTE FUNCTION refuse_sweep()');
        }
        server.clock.advance(2 * DAY);
        await assert.rejects(server.running.sweeper.runOnce());
      } finally {
        await side.destroy();
      }
      const line = server.logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'sweep failed; will retry');
      assert.ok(line, 'no log line for the failed sweep');
      assert.equal(typeof line.err, 'object', JSON.stringify(line.err));
      assert.equal(typeof line.err.type, 'string');
      assert.equal(typeof line.err.stack, 'string');
      assert.match(line.err.message, /cannot expire/);
      assert.ok(!JSON.stringify(line).includes(code), 'the log line holds the code');
    });
  });
});
