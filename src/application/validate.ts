import type { z } from 'zod';
import { InvalidInput } from '../domain/errors';

/** Parses untrusted input with a schema; every problem is reported with its path. */
export function parse<S extends z.ZodType>(schema: S, input: unknown, where = 'body'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 20).map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
  throw new InvalidInput('invalid_request', `${issues[0]?.path}: ${issues[0]?.message}`, { issues });
}
