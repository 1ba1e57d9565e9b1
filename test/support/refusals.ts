import { strict as assert } from 'node:assert';
import type { Answer } from './http';

/** Signs that server internals leaked into an answer: stack frames, source paths, dependency paths. */
const LEAKS = [/\bat \S+ \(/, /\bat (async )?\/\S+:\d+/, /\/work\//, /node_modules/, /\.ts:\d+/, /\.js:\d+/, /RangeError|TypeError|SyntaxError/];

/** Asserts a refusal: the given 4xx, JSON `{ error: { code, message } }` with the given stable code, no internals. */
export function assertRefusal(res: Answer, status: number, code: string): void {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text}`);
  assertCleanError(res);
  assert.equal(res.body.error.code, code, res.text);
}

/** Any 4xx with the error shape and no internals; returns the code. */
export function assertCleanError(res: Answer): string {
  assert.ok(res.status >= 400 && res.status < 500, `expected a 4xx, got ${res.status}: ${res.text}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `not JSON: ${res.text}`);
  assert.ok(res.body && typeof res.body.error === 'object', `no error object: ${res.text}`);
  assert.match(res.body.error.code, /^[a-z][a-z0-9_]*$/, `unstable code: ${res.text}`);
  assert.equal(typeof res.body.error.message, 'string');
  assert.ok(res.body.error.message.length > 0);
  assertNoInternals(res.text);
  return res.body.error.code;
}

export function assertNoInternals(text: string): void {
  for (const leak of LEAKS) assert.doesNotMatch(text, leak, `internals leaked: ${text.slice(0, 500)}`);
}
