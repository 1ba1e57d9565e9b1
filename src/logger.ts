import pino from 'pino';
import { codeHint } from './domain/authorization-code';

export type Logger = pino.Logger;

/** A 25-symbol code, grouped or not (Crockford base32: no I, L, O, U). */
const CODE_PATTERN = /\b(?:[0-9A-HJKMNP-TV-Z]{5}-){4}[0-9A-HJKMNP-TV-Z]{5}\b|\b[0-9A-HJKMNP-TV-Z]{25}\b/g;
const JWS_PATTERN = /\beyJ[\w-]*\.[\w-]+\.[\w-]+/g;
const PEM_PATTERN = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g;

/**
 * Error messages can quote what they failed on (a driver's message may quote a statement's
 * values): codes become hints, tokens and keys disappear, before the line is written.
 */
function scrubSecrets(text: string): string {
  return text
    .replace(PEM_PATTERN, '[private key]')
    .replace(JWS_PATTERN, '[token]')
    .replace(CODE_PATTERN, (code) => codeHint(code.replace(/-/g, '')));
}

/** Deeper than any error a driver or we make; what lies beyond is left out rather than written unscrubbed. */
const MAX_DEPTH = 8;

/**
 * Every string of a logged error, at any depth: its own fields, a driver's nested ones
 * (`aggregateErrors[]`, `details.…`, a `cause` that is no Error). Cycles and what lies deeper than
 * MAX_DEPTH become markers.
 */
function scrubValue(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  const scrub = (v: unknown) => scrubValue(v, depth + 1, seen);
  const out = Array.isArray(value) ? value.map(scrub) : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v)]));
  seen.delete(value);
  return out;
}

/**
 * Structured JSON logs. Secrets never belong in a log line: we log codes only as hints and
 * never bodies; the redaction list and the error scrubbing are a second line of defence.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: undefined,
    redact: {
      paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization', 'privateKeyPem', '*.privateKeyPem', 'adminToken'],
      censor: '[redacted]',
    },
    serializers: { err: (err: unknown) => scrubValue(err instanceof Error ? pino.stdSerializers.err(err) : err) },
  };
  return destination ? pino(options, destination) : pino(options);
}
