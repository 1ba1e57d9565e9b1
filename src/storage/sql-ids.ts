/**
 * A UUIDv7 made inside a bulk SQL statement, in the same shape and order as the ids the
 * application makes (src/domain/clock.ts): the millisecond `ms`, then a 26-bit counter (the row's
 * number in the statement, RFC 9562 §6.2 method 1: the 12 rand_a bits and 14 of rand_b), then 48
 * random bits. Events a statement writes therefore list in the order it wrote them, and their
 * index inserts stay append-only, as with every other id.
 *
 * `ms` is our own clock reading, checked here and written as a literal (it appears twice in the
 * SQLite form, which would otherwise need its binding twice); `counter` is an SQL expression.
 */
export function uuidV7Sql(engine: 'pg' | 'sqlite', ms: number, counter: string): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms >= 2 ** 48) throw new RangeError(`not a UUIDv7 timestamp: ${ms}`);
  const hi = `((${counter}) >> 14) & 4095`;
  const lo = `(${counter}) & 16383`;
  if (engine === 'sqlite') return `printf('%08x-%04x-%04x-%04x-%012x', ${ms} >> 16, ${ms} & 65535, 28672 | (${hi}), 32768 | (${lo}), random() & 281474976710655)`;
  const bytes = `int8send((CAST(${ms} AS bigint) << 16) | 28672 | (${hi})) || substr(int4send(CAST(32768 | (${lo}) AS integer)), 3, 2) || substr(uuid_send(gen_random_uuid()), 11, 6)`;
  return `(SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21) FROM (SELECT encode(${bytes}, 'hex') AS h) AS hex)`;
}
