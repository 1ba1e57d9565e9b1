import type { Engine } from './database';
/**
 * A UUIDv7 made inside a bulk SQL statement, in the same shape and order as the ids the
 * application makes (src/domain/clock.ts): the millisecond `ms`, then a 26-bit counter (the row's
 * number in the statement, RFC 9562 §6.2 method 1: the 12 rand_a bits and 14 of rand_b), then 48
 * random bits. Events a statement writes therefore list in the order it wrote them, and their
 * index inserts stay append-only, as with every other id.
 *
 * `ms` is our own clock reading, checked here and written as a literal (it appears twice in the
 * SQLite form, which would otherwise need its binding twice); `counter` is an SQL expression.
 * PostgreSQL gets the millisecond's groups as text made here and the rest from `to_hex`. The
 * random bits only tell apart ids of the same millisecond and counter, so they come from
 * `random()` (the session's generator, seeded from a strong source) on both engines: the v4 UUID
 * they came from before, and the bytes-to-text subquery around it, were a tenth of a sweep
 * (docs/performance.md#bulk-changes-are-one-statement-a-batch).
 */
export function uuidV7Sql(engine: Engine, ms: number, counter: string): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms >= 2 ** 48) throw new RangeError(`not a UUIDv7 timestamp: ${ms}`);
  const hi = `((${counter}) >> 14) & 4095`;
  const lo = `(${counter}) & 16383`;
  if (engine === 'sqlite')
    return `printf('%08x-%04x-%04x-%04x-%012x', ${ms} >> 16, ${ms} & 65535, 28672 | (${hi}), 32768 | (${lo}), random() & 281474976710655)`;
  const time = ms.toString(16).padStart(12, '0');
  // 28672 | hi is 0x7000–0x7fff and 32768 | lo 0x8000–0xbfff: four hex digits each, unpadded.
  const random = `lpad(to_hex(floor(random() * 281474976710656)::bigint), 12, '0')`;
  return `('${time.slice(0, 8)}-${time.slice(8)}-' || to_hex(28672 | (${hi})) || '-' || to_hex(32768 | (${lo})) || '-' || ${random})`;
}
