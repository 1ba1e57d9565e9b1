import { strict as assert } from 'node:assert';
import http from 'node:http';
import { forEachEngine } from './support/databases';
import { machine } from './support/factories';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/harness';
import { admin, call } from './support/http';

/** A small seeded PRNG (mulberry32), so a failing case can be replayed from its number. */
function prng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY_STRINGS = [
  "' OR 1=1 --",
  '"; DROP TABLE codes; --',
  '../../../../etc/passwd',
  '%2e%2e%2f%2e%2e%2f',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '<script>alert(1)</script>',
  '${7*7}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  '%00',
  '\\',
  '/',
  '?',
  '#',
  '..',
  ' ',
  '',
  'null',
  'true',
  '0',
  '-1',
  '1e309',
  'NaN',
  '😀'.repeat(50),
  'x'.repeat(70_000),
  'ABCDE-FGHJK-MNPQR-STVWX-YZ234',
];

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
}

function corpus(count: number, seed: number, ids: { activationId: string; code: string }): Case[] {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const nasty = () => pick(NASTY_STRINGS);
  const value = (depth = 0): unknown => {
    switch (Math.floor(rand() * 9)) {
      case 0:
        return nasty();
      case 1:
        return Math.floor(rand() * 2 ** 53) * (rand() < 0.5 ? -1 : 1);
      case 2:
        return rand() < 0.5;
      case 3:
        return null;
      case 4:
        return depth < 3 ? Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1)) : [];
      case 5:
        return depth < 3 ? Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, () => [nasty(), value(depth + 1)])) : {};
      case 6:
        return machine(String(rand()));
      case 7:
        return ids.activationId;
      default:
        return ids.code;
    }
  };
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const shapes: Array<() => Buffer> = [
    () => Buffer.from(JSON.stringify({ code: value(), fingerprint: value(), environment: value() })),
    () => Buffer.from(JSON.stringify({ activationId: value(), fingerprint: value() })),
    () => Buffer.from(JSON.stringify(value())),
    () => Buffer.from(JSON.stringify({ product: value(), seats: value(), days: value(), expiresAt: value(), features: value(), metadata: value() })),
    () => Buffer.from(deep(5000)),
    () => Buffer.from('{"a":' + '{"a":'.repeat(3000) + '1' + '}'.repeat(3001)),
    () => Buffer.from([0x7b, 0x22, 0x63, 0x6f, 0x64, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]), // {"code":"<invalid UTF-8>"}
    () => Buffer.from('{"code": "unterminated'),
    () => Buffer.alloc(200_000, 0x61),
    () => Buffer.from(JSON.stringify({ token: value(), code: nasty() })),
  ];
  const routes: Array<[string, string]> = [
    ['POST', '/v1/activations'],
    ['POST', '/v1/heartbeat'],
    ['DELETE', `/v1/activations/${ids.activationId}`],
    ['DELETE', '/v1/activations/:nasty'],
    ['GET', '/.well-known/jwks.json'],
    ['GET', '/healthz'],
    ['GET', '/readyz'],
    ['GET', '/v1/admin/products'],
    ['POST', '/v1/admin/products'],
    ['GET', '/v1/admin/products/:nasty'],
    ['POST', '/v1/admin/codes'],
    ['GET', '/v1/admin/codes?q=:nasty&status=:nasty&limit=:nasty&cursor=:nasty'],
    ['GET', '/v1/admin/codes/:nasty'],
    ['GET', '/v1/admin/codes/:nasty/activations'],
    ['POST', '/v1/admin/codes/:nasty/renew'],
    ['POST', `/v1/admin/codes/${ids.code}/renew`],
    ['POST', '/v1/admin/codes/:nasty/freeze'],
    ['GET', '/v1/admin/activations/:nasty'],
    ['DELETE', '/v1/admin/activations/:nasty'],
    ['GET', '/v1/admin/audit?code=:nasty&action=:nasty&cursor=:nasty'],
    ['GET', '/:nasty'],
  ];
  const contentTypes = [
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/json; charset=latin1',
    'multipart/form-data; boundary=x',
    '',
  ];
  return Array.from({ length: count }, () => {
    const [method, template] = pick(routes);
    // Percent-encode every byte (lone surrogates included), or now and then send a broken escape as is.
    const encode = (text: string) => [...Buffer.from(text.slice(0, 200))].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    const path = template.replace(/:nasty/g, () => (rand() < 0.05 ? pick(['%E0%A4%A', '%', '%zz', '%00']) : encode(nasty())));
    const headers: Record<string, string> = {};
    if (rand() < 0.8)
      headers.authorization = `Bearer ${
        rand() < 0.9
          ? ADMIN_TOKEN
          : nasty()
              .slice(0, 100)
              .replace(/[^\x20-\x7e]/g, '')
      }`;
    const body = method === 'GET' || rand() < 0.1 ? null : pick(shapes)();
    const type = pick(contentTypes);
    if (type) headers['content-type'] = type;
    if (rand() < 0.05) headers['content-encoding'] = pick(['gzip', 'br', 'deflate', 'identity', 'x-nonsense']);
    return { method, path, headers, body };
  });
}

function send(url: string, c: Case): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: c.method,
        path: c.path,
        headers: { ...c.headers, ...(c.body ? { 'content-length': String(c.body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(c.body ?? undefined);
  });
}

forEachEngine('a generated corpus of hostile requests', (engine) => {
  let server: TestServer;
  let ids: { activationId: string; code: string };
  let secret: string;
  const COUNT = engine === 'sqlite' ? 3000 : 1500;

  before(async () => {
    server = await startTestServer(engine);
    await admin(server.url, 'POST', '/v1/admin/products', { name: 'hostile' });
    const issued = await admin(server.url, 'POST', '/v1/admin/codes', { product: 'hostile', seats: 100, days: 30 });
    const activated = await call(server.url, 'POST', '/v1/activations', { code: issued.body.code.code, fingerprint: machine('hostile') });
    ids = { activationId: activated.body.activation.id, code: issued.body.code.code };
    secret = activated.body.activation.secret;
  });
  after(async () => server?.close());

  it(`answers all ${engine === 'sqlite' ? '3,000' : '1,500'} with no 5xx, and every refusal is a documented JSON error`, async function () {
    this.timeout(120_000);
    const cases = corpus(COUNT, engine === 'sqlite' ? 1 : 2, ids);
    const problems: string[] = [];
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!;
      const res = await send(server.url, c);
      if (res.status >= 500) problems.push(`#${i} ${c.method} ${c.path.slice(0, 80)} -> ${res.status} ${res.text.slice(0, 200)}`);
      else if (res.status >= 400) {
        let code: unknown;
        try {
          code = JSON.parse(res.text).error.code;
        } catch {
          code = undefined;
        }
        if (typeof code !== 'string' || !/^[a-z_]+$/.test(code))
          problems.push(`#${i} ${c.method} ${c.path.slice(0, 80)} -> ${res.status} without an error code: ${res.text.slice(0, 120)}`);
        if (/\n\s+at |node_modules|\/work\//.test(res.text)) problems.push(`#${i} leaks internals: ${res.text.slice(0, 200)}`);
      }
    }
    assert.deepEqual(problems.slice(0, 10), [], `${problems.length} bad answers`);
    // The server is still healthy and still serving its customer.
    assert.equal((await call(server.url, 'GET', '/readyz')).status, 200);
    assert.equal((await call(server.url, 'POST', '/v1/heartbeat', { activationId: ids.activationId, secret, fingerprint: machine('hostile') })).status, 200);
  });
});
