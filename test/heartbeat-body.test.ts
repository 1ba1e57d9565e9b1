import { strict as assert } from 'node:assert';
import { InvalidInput } from '../src/domain/errors';
import { heartbeatRequestSchema, readHeartbeatRequest } from '../src/application/schemas';

const ID = '0190c3a4-1111-7abc-8def-0123456789ab';
const hash = (n: number, digit = 'a') => digit.repeat(n);

function body(fingerprint: unknown = { 'os.machineId': hash(32), 'net.macs': [hash(32, 'b')] }, activationId: unknown = ID): Record<string, unknown> {
  return { activationId, fingerprint };
}

const components = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}`, hash(32)]));

/** Bodies at and past every rule's edge, as a client (or a hostile one) could send them. */
const EDGES: Array<[string, unknown]> = [
  ['a well-formed body', body()],
  ['upper-case hex', body({ 'os.machineId': hash(32, 'F') }, ID.toUpperCase())],
  ['1 component', body(components(1))],
  ['32 components', body(components(32))],
  ['33 components', body(components(33))],
  ['no component', body({})],
  ['a set of 64 hashes', body({ 'net.macs': Array.from({ length: 64 }, () => hash(32)) })],
  ['a set of 65 hashes', body({ 'net.macs': Array.from({ length: 65 }, () => hash(32)) })],
  ['an empty set', body({ 'net.macs': [] })],
  ['a 16-digit hash', body({ a: hash(16) })],
  ['a 15-digit hash', body({ a: hash(15) })],
  ['a 128-digit hash', body({ a: hash(128) })],
  ['a 129-digit hash', body({ a: hash(129) })],
  ['a hash that is not hex', body({ a: 'g'.repeat(32) })],
  ['a number in a set', body({ a: [hash(32), 7] })],
  ['a number as a hash', body({ a: 7 })],
  ['null as a hash', body({ a: null })],
  ['an object as a hash', body({ a: { b: hash(32) } })],
  ['a component id of 64 characters', body({ [`a${'b'.repeat(63)}`]: hash(32) })],
  ['a component id of 65 characters', body({ [`a${'b'.repeat(64)}`]: hash(32) })],
  ['a component id starting upper case', body({ Os: hash(32) })],
  ['a component id starting with a digit', body({ '1os': hash(32) })],
  ['a component id with a space', body({ 'os id': hash(32) })],
  ['__proto__ as a component id', JSON.parse(`{"activationId":"${ID}","fingerprint":{"__proto__":"${hash(32)}"}}`)],
  ['__proto__ as a top-level key', JSON.parse(`{"activationId":"${ID}","fingerprint":{"a":"${hash(32)}"},"__proto__":{}}`)],
  ['an extra top-level key', { ...body(), extra: 1 }],
  ['no fingerprint', { activationId: ID }],
  ['no activation id', { fingerprint: { a: hash(32) } }],
  ['a 35-character activation id', body(undefined, ID.slice(1))],
  ['a 37-character activation id', body(undefined, `${ID}0`)],
  ['an activation id that is not hex', body(undefined, ID.replace('a', 'z'))],
  ['a number as the activation id', body(undefined, 12)],
  ['a fingerprint that is a list', body([hash(32)])],
  ['a fingerprint that is a string', body(hash(32))],
  ['null', null],
  ['a list', [body()]],
  ['a string', 'heartbeat'],
];

/** A small deterministic generator, so a failure names a case that can be run again. */
function* randomBodies(count: number): Generator<[string, unknown]> {
  let seed = 42;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)]!;
  // Mostly good values with a few bad ones, so that some bodies pass and others fail by one thing.
  const good = [hash(32), hash(16), hash(128, 'F'), hash(64, '0')];
  const bad = [hash(15), hash(129), 'XYZ'.repeat(8), ''];
  const value = () => (next() < 0.98 ? pick(good) : pick(bad));
  const ids = ['os.machineId', 'net.macs', 'Hw', '9a', 'a'.repeat(65), 'hw.model', 'x-y_z.1'];
  for (let i = 0; i < count; i++) {
    const fingerprint: Record<string, unknown> = {};
    const n = Math.floor(next() * 36);
    for (let c = 0; c < n; c++) {
      const key = next() < 0.97 ? `k${c}` : pick(ids);
      const r = next();
      const size = next() < 0.95 ? Math.floor(next() * 8) : 60 + Math.floor(next() * 8);
      fingerprint[key] = r < 0.7 ? value() : r < 0.99 ? Array.from({ length: size }, value) : pick([null, 1, {}, true]);
    }
    const sent: Record<string, unknown> = { activationId: next() < 0.95 ? ID : pick([ID.slice(2), 1, null, ID.toUpperCase()]), fingerprint };
    if (next() < 0.05) sent.extra = 'x';
    yield [`random body ${i}`, sent];
  }
}

describe('the heartbeat body', () => {
  it('is taken as it is when it is exactly in the schema’s shape (no copy made)', () => {
    const sent = body();
    assert.equal(readHeartbeatRequest(sent), sent);
  });

  it('is accepted and refused exactly as the schema decides, at every rule’s edge and on 3,000 generated bodies', () => {
    let accepted = 0;
    let refused = 0;
    for (const [name, input] of [...EDGES, ...randomBodies(3000)]) {
      const schema = heartbeatRequestSchema.safeParse(input);
      let read: unknown;
      try {
        read = readHeartbeatRequest(input);
      } catch (err) {
        assert.ok(err instanceof InvalidInput, `${name}: ${String(err)}`);
        assert.equal(schema.success, false, `${name}: refused, but the schema accepts it`);
        refused++;
        continue;
      }
      assert.ok(schema.success, `${name}: accepted, but the schema refuses it: ${JSON.stringify(schema.error?.issues[0])}`);
      assert.deepEqual(read, schema.data, `${name}: not what the schema makes of it`);
      accepted++;
    }
    // The generator reaches both sides, so the agreement means something.
    assert.ok(accepted > 300 && refused > 300, `accepted ${accepted}, refused ${refused}`);
  });

  it('explains a refusal with the path of the first problem, as every route does', () => {
    assert.throws(
      () => readHeartbeatRequest(body({ a: hash(15) })),
      (err: InvalidInput) => err.code === 'invalid_request' && /^body\.fingerprint\.a/.test(err.message),
    );
  });
});
