import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';
import sqlite3 from 'sqlite3';

/**
 * The floor under an activation and a deactivation on Node with our fixed drivers: the least work
 * one can do, to measure licensor's against (bench/heartbeat.ts), as heartbeat-floor.ts is for the
 * heartbeat. An activation must take a seat exactly and durably and sign a lease for it, so the
 * floor does, in one transaction on the same engine: one statement that takes a seat on the code
 * if one is free (`UPDATE … used < seats RETURNING`), one that writes the activation's row; a new
 * secret and its SHA-256; one Ed25519 signature of a JWT carrying the nonce on libuv's thread pool.
 * A deactivation verifies the token on the pool and, in one transaction, ends the activation and
 * frees its seat. `node:http`, JSON.parse, statements kept prepared, no validation, no anchors, no
 * audit trail, no answer signature beyond the token: whatever licensor does beyond this is what
 * the ratio measures.
 *
 *   node dist/bench/activation-floor.js sqlite <file> | postgres <url>   [codes=200]
 *
 * Codes are `floor-0` … `floor-<codes-1>`, a million seats each; the tables are `floor_*`.
 */
const [engine, where, codesArg] = process.argv.slice(2);
const CODES = Number(codesArg ?? 200);
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const header = b64({ alg: 'EdDSA', typ: 'JWT', kid: 'floor' });

/** One transaction's statements; null when the seat or activation it names is not there. */
interface FloorStore {
  activate(code: string, activation: { id: string; fingerprint: string; secretHash: string; createdAt: number }): Promise<string | null>;
  deactivate(activationId: string, endedAt: number): Promise<boolean>;
}

const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS floor_codes (id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, seats INTEGER NOT NULL, used INTEGER NOT NULL)',
  'CREATE TABLE IF NOT EXISTS floor_activations (id TEXT PRIMARY KEY, code_id TEXT NOT NULL, fingerprint TEXT NOT NULL, secret_hash TEXT NOT NULL, created_at BIGINT NOT NULL, ended_at BIGINT)',
];
const TAKE_SEAT = 'UPDATE floor_codes SET used = used + 1 WHERE code = $1 AND used < seats RETURNING id';
const INSERT_ACTIVATION = 'INSERT INTO floor_activations (id, code_id, fingerprint, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)';
const END_ACTIVATION = 'UPDATE floor_activations SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL RETURNING code_id';
const FREE_SEAT = 'UPDATE floor_codes SET used = used - 1 WHERE id = $1';

/**
 * SQLite: one connection, as licensor's writer, so transactions queue in this process; WAL and
 * synchronous=NORMAL, as licensor's. As licensor's too (docs/data-model.md "Statements on
 * SQLite", docs/performance.md "SQLite checkpoints in the background"): the transaction's last
 * write goes with COMMIT in one call of `exec`, its values written in, so a transaction is three
 * trips through the thread pool; and a connection of its own checkpoints every 250 ms, the
 * writer's own checkpoint only past 10,000 pages of WAL.
 */
async function sqliteStore(file: string): Promise<FloorStore> {
  const db = new sqlite3.Database(file);
  const exec = (sql: string) => new Promise<void>((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve())));
  await exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA wal_autocheckpoint = 10000;');
  await exec(SCHEMA.join(';'));
  await exec(`INSERT OR IGNORE INTO floor_codes (id, code, seats, used) VALUES ${seededCodes().join(',')}`);
  const checkpointer = new sqlite3.Database(file);
  checkpointer.configure('busyTimeout', 10_000);
  setInterval(() => checkpointer.run('PRAGMA wal_checkpoint(PASSIVE)'), 250).unref();
  const prepared = new Map<string, sqlite3.Statement>();
  const all = (sql: string, params: unknown[] = []) =>
    new Promise<Array<Record<string, string>>>((resolve, reject) => {
      let statement = prepared.get(sql);
      if (!statement) prepared.set(sql, (statement = db.prepare(sql)));
      statement.all(params, (err: Error | null, rows: Array<Record<string, string>>) => (err ? reject(err) : resolve(rows)));
    });
  let queue: Promise<unknown> = Promise.resolve();
  /** `work` answers its result and its last write, which goes with COMMIT. */
  const transaction = <T>(work: () => Promise<{ result: T; last: string | null }>): Promise<T> => {
    const run = queue.then(async () => {
      await all('BEGIN IMMEDIATE');
      try {
        const { result, last } = await work();
        await exec(last === null ? 'COMMIT' : `${last};\nCOMMIT`);
        return result;
      } catch (err) {
        await all('ROLLBACK');
        throw err;
      }
    });
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    activate: (code, a) =>
      transaction(async () => {
        const [seat] = await all(TAKE_SEAT, [code]);
        if (!seat) return { result: null, last: null };
        return { result: seat.id!, last: withValues(INSERT_ACTIVATION, [a.id, seat.id!, a.fingerprint, a.secretHash, a.createdAt]) };
      }),
    deactivate: (id, endedAt) =>
      transaction(async () => {
        const [ended] = await all(END_ACTIVATION, [endedAt, id]);
        if (!ended) return { result: false, last: null };
        return { result: true, last: withValues(FREE_SEAT, [ended.code_id!]) };
      }),
  };
}

/** A statement with its `$n` replaced by its values as SQLite literals: text quoted, integers as they are. */
function withValues(text: string, values: Array<string | number>): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const value = values[Number(n) - 1]!;
    return typeof value === 'number' ? String(value) : `'${value.replaceAll("'", "''")}'`;
  });
}

/**
 * PostgreSQL: a pool of ten, pipelined, as licensor's (docs/data-model.md "Statements on
 * PostgreSQL"): BEGIN goes out with the first statement, the last write with COMMIT, so a
 * transaction is two round trips. The row lock of the seat's UPDATE serialises activations on one code.
 */
async function postgresStore(url: string): Promise<FloorStore> {
  const pool = new pg.Pool({ connectionString: url, max: 10, pipeline: true } as pg.PoolConfig);
  for (const sql of SCHEMA) await pool.query(sql);
  await pool.query(`INSERT INTO floor_codes (id, code, seats, used) VALUES ${seededCodes().join(',')} ON CONFLICT DO NOTHING`);
  type Rows = Array<Record<string, string>>;
  /** `read` waits for its rows (and whatever was sent ahead of it); `write` sends the transaction's last statement, which goes with COMMIT. */
  const transaction = async <T>(
    work: (
      read: (name: string, text: string, values: unknown[]) => Promise<Rows>,
      write: (name: string, text: string, values: unknown[]) => void,
    ) => Promise<T>,
  ) => {
    const client = await pool.connect();
    let ahead: Promise<unknown> | null = null;
    const sendAhead = (sent: Promise<unknown>) => {
      sent.catch(() => undefined);
      ahead = sent;
    };
    const behindAhead = async <R>(sent: Promise<R>): Promise<R> => {
      const waiting = ahead;
      ahead = null;
      sent.catch(() => undefined);
      if (waiting) await waiting;
      return sent;
    };
    const read = async (name: string, text: string, values: unknown[]) => (await behindAhead(client.query({ name, text, values }))).rows as Rows;
    const write = (name: string, text: string, values: unknown[]) => sendAhead(client.query({ name, text, values }));
    try {
      sendAhead(client.query('BEGIN'));
      const result = await work(read, write);
      await behindAhead(client.query('COMMIT'));
      return result;
    } catch (err) {
      ahead = null;
      await client.query('ROLLBACK');
      throw err;
    } finally {
      client.release();
    }
  };
  return {
    activate: (code, a) =>
      transaction(async (read, write) => {
        const [seat] = await read('take', TAKE_SEAT, [code]);
        if (!seat) return null;
        write('insert', INSERT_ACTIVATION, [a.id, seat.id, a.fingerprint, a.secretHash, a.createdAt]);
        return seat.id!;
      }),
    deactivate: (id, endedAt) =>
      transaction(async (read, write) => {
        const [ended] = await read('end', END_ACTIVATION, [endedAt, id]);
        if (!ended) return false;
        write('free', FREE_SEAT, [ended.code_id]);
        return true;
      }),
  };
}

function seededCodes(): string[] {
  return Array.from({ length: CODES }, (_, i) => `('${randomUUID()}', 'floor-${i}', 1000000, 0)`);
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {}));
  });
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function signLease(claims: object): Promise<string> {
  const input = `${header}.${b64(claims)}`;
  return new Promise((resolve, reject) =>
    sign(null, Buffer.from(input), privateKey, (err, signature) => (err ? reject(err) : resolve(`${input}.${signature.toString('base64url')}`))),
  );
}

/** The activation id of a token this floor signed, verified on the thread pool; null when it does not verify. */
function verifiedActivation(token: string): Promise<string | null> {
  const [h, payload, signature] = token.split('.');
  if (!h || !payload || !signature) return Promise.resolve(null);
  return new Promise((resolve) =>
    verify(null, Buffer.from(`${h}.${payload}`), publicKey, Buffer.from(signature, 'base64url'), (err, ok) => {
      if (err || !ok) return resolve(null);
      resolve((JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { activation: { id: string } }).activation.id);
    }),
  );
}

async function activate(store: FloorStore, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = (await readJson(req)) as { code: string; fingerprint: unknown };
  const now = Date.now();
  const secret = randomBytes(32).toString('base64url');
  const activation = {
    id: randomUUID(),
    fingerprint: JSON.stringify(body.fingerprint),
    secretHash: createHash('sha256').update(secret).digest('hex'),
    createdAt: now,
  };
  const codeId = await store.activate(body.code, activation);
  if (codeId === null) return answer(res, 409, { error: { code: 'seat_limit_reached' } });
  const iat = Math.floor(now / 1000);
  const token = await signLease({
    iss: 'licensor',
    aud: 'bench',
    sub: codeId,
    jti: randomUUID(),
    iat,
    nbf: iat,
    exp: iat + 604800,
    license: { status: 'alive', seats: 1000000, features: [], seatMode: 'node_locked' },
    activation: { id: activation.id, fingerprint: body.fingerprint },
    nonce: req.headers['licensor-nonce'],
  });
  answer(res, 201, { activation: { id: activation.id, codeId, status: 'active', createdAt: new Date(now).toISOString() }, secret, token });
}

async function deactivate(store: FloorStore, id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  await readJson(req);
  const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (!bearer || (await verifiedActivation(bearer)) !== id) return answer(res, 403, { error: { code: 'activation_proof_invalid' } });
  if (!(await store.deactivate(id, Date.now()))) return answer(res, 404, { error: { code: 'activation_not_found' } });
  answer(res, 200, { activation: { id, status: 'deactivated' } });
}

async function main(): Promise<void> {
  if ((engine !== 'sqlite' && engine !== 'postgres') || !where) throw new Error('usage: activation-floor.js sqlite <file> | postgres <url> [codes]');
  const store = engine === 'sqlite' ? await sqliteStore(where) : await postgresStore(where);
  const server = createServer((req, res) => {
    const done = (err: unknown) => {
      if (err) answer(res, 500, { error: { code: 'internal', message: String(err) } });
    };
    if (req.method === 'POST' && req.url === '/v1/activations') return void activate(store, req, res).catch(done);
    const deleted = req.method === 'DELETE' ? /^\/v1\/activations\/([^/?]+)$/.exec(req.url ?? '') : null;
    if (deleted) return void deactivate(store, deleted[1]!, req, res).catch(done);
    answer(res, 404, { error: { code: 'not_found' } });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address() as { port: number };
    console.log(`activation floor (${engine}) listening on http://127.0.0.1:${address.port}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
