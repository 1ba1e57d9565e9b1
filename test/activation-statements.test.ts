import { strict as assert } from 'node:assert';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { startTestServer, type TestServer } from './support/harness';
import { admin, call, type Answer } from './support/http';
import { issueCode } from './support/license-clients';
import { statementsDuring, statementsInFlight } from './support/reads';

/**
 * The statements a seat change sends in its transaction, as the server's database client issues
 * them (docs/performance.md#where-an-activations-time-goes): each is a trip through SQLite's one
 * writer, or a round trip to PostgreSQL, while the code is locked.
 */
forEachEngine('what a seat change asks of the database', (engine) => {
  let server: TestServer;
  const product = `statements-${engine}`;

  before(async () => {
    server = await startTestServer(engine);
    await admin(server.url, 'POST', '/v1/admin/products', { name: product });
  });
  after(async () => server?.close());

  /** The statements from the transaction's BEGIN to its COMMIT, while `work` runs alone. */
  async function transactionOf(work: () => Promise<unknown>): Promise<string[]> {
    const heard = (await statementsDuring(server.running.runtime.database.knex, work)).map((sql) => sql.replace(/\s+/g, ' '));
    const begin = heard.findIndex((sql) => /^BEGIN\b/.test(sql));
    return heard.slice(begin, heard.indexOf('COMMIT', begin) + 1);
  }

  it('locks the code and reads the machines sharing an anchor in one statement on SQLite; writes in one on PostgreSQL', async () => {
    const code = await issueCode(server, product, 2);
    await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('first') });
    let answer: { status: number } = { status: 0 };
    const statements = await transactionOf(async () => {
      answer = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('second') });
    });
    assert.equal(answer.status, 201);
    const shapes = statements.map((sql) => sql.split(' ').slice(0, 3).join(' '));
    if (engine === 'sqlite') {
      // The write lock is taken by the BEGIN; the code, its live seats and the holders of the
      // machine's anchors come back from one read; then the row, its anchors, its audit events.
      assert.equal(statements.length, 6, statements.join('\n'));
      assert.equal(statements[0], 'BEGIN IMMEDIATE');
      assert.match(statements[1]!, /^SELECT .* AS holders FROM codes WHERE code = \?$/);
      assert.deepEqual(shapes.slice(2), ['INSERT INTO activations', 'INSERT INTO activation_anchors', 'INSERT INTO audit_events', 'COMMIT']);
    } else {
      // The row lock, then the holders, read after the lock so that they see its last holder's commit;
      // the writes as one statement; the change notices they raised, read with the COMMIT (migration 019).
      assert.equal(statements.length, 6, statements.join('\n'));
      assert.match(statements[1]!, /FROM codes WHERE code = \$1 FOR UPDATE$/);
      assert.match(statements[2]!, /FROM activations WHERE id IN \(SELECT activation_id FROM activation_anchors/);
      assert.match(statements[3]!, /^WITH w0 AS \(INSERT INTO activations .*\), w1 AS \(INSERT INTO activation_anchors .*\) INSERT INTO audit_events/);
      assert.match(statements[4]!, /^SELECT current_setting\('licensor\.raised_notices', true\)/);
    }
  });

  it('waits for the database three times in a seat change, on PostgreSQL each statement sent behind the ones it need not wait for, on SQLite the writes sent with COMMIT', async () => {
    const code = await issueCode(server, product, 2);
    // Not the code's first activation, which also moves it to alive.
    await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('before-in-flight') });
    const knex = server.running.runtime.database.knex;
    /** The transaction's statements, as [first word, statements sent ahead of it and not yet answered]. */
    const inFlight = async (work: () => Promise<{ status: number }>) => {
      let status = 0;
      const sent = await statementsInFlight(knex, async () => {
        status = (await work()).status;
      });
      const begin = sent.findIndex(([word]) => word === 'BEGIN');
      return { status, sent: sent.slice(begin, sent.findIndex(([words], i) => i > begin && /\bCOMMIT$/.test(words)) + 1) };
    };
    let activation: Answer | undefined;
    const activating = await inFlight(
      async () => (activation = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('in-flight') })),
    );
    const leaving = await inFlight(() =>
      call(server.url, 'DELETE', `/v1/activations/${activation!.body.activation.id}`, undefined, { authorization: `Bearer ${activation!.body.token}` }),
    );
    assert.deepEqual([activating.status, leaving.status], [201, 200]);
    if (engine === 'postgres') {
      // BEGIN, the lock and the holders' read (PostgreSQL starts it once the lock is held) in one
      // round trip; the writes, the change notices they raised and COMMIT in one.
      assert.deepEqual(activating.sent, [
        ['BEGIN', 0],
        ['SELECT', 1],
        ['SELECT', 2],
        ['WITH', 0],
        ['SELECT', 1],
        ['COMMIT', 2],
      ]);
      // BEGIN and the lock; the end, whose answer decides what follows; the audit event, the
      // notices and COMMIT.
      assert.deepEqual(leaving.sent, [
        ['BEGIN', 0],
        ['SELECT', 1],
        ['UPDATE', 0],
        ['INSERT', 0],
        ['SELECT', 1],
        ['COMMIT', 2],
      ]);
    } else {
      // BEGIN, which takes the write lock; the read; the writes and COMMIT, one trip each.
      assert.deepEqual(activating.sent, [
        ['BEGIN', 0],
        ['SELECT', 0],
        ['INSERT + INSERT + INSERT + COMMIT', 0],
      ]);
      // BEGIN; the end, whose answer decides what follows; the audit event and COMMIT.
      assert.deepEqual(leaving.sent, [
        ['BEGIN', 0],
        ['UPDATE', 0],
        ['INSERT + COMMIT', 0],
      ]);
    }
  });

  it('frees a seat without a statement for the lock on SQLite, whose BEGIN took it', async () => {
    const code = await issueCode(server, product, 1);
    const activated = await call(server.url, 'POST', '/v1/activations', { code, fingerprint: machine('leaving') });
    assert.equal(activated.status, 201);
    let answer: { status: number; body?: { activation?: { status?: string } } } = { status: 0 };
    const statements = await transactionOf(async () => {
      answer = await call(server.url, 'DELETE', `/v1/activations/${activated.body.activation.id}`, undefined, {
        authorization: `Bearer ${activated.body.token}`,
      });
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.body?.activation?.status, 'deactivated');
    const shapes = statements.map((sql) => sql.split(' ').slice(0, 3).join(' '));
    if (engine === 'sqlite') assert.deepEqual(shapes, ['BEGIN IMMEDIATE', 'UPDATE activations SET', 'INSERT INTO audit_events', 'COMMIT']);
    else
      assert.deepEqual(shapes, [
        'BEGIN',
        'SELECT id FROM',
        'UPDATE activations SET',
        'INSERT INTO audit_events',
        "SELECT current_setting('licensor.raised_notices', true)",
        'COMMIT',
      ]);
  });
});
