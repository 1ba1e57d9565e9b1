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
export function scrubSecrets(text: string): string {
  return text
    .replace(PEM_PATTERN, '[private key]')
    .replace(JWS_PATTERN, '[token]')
    .replace(CODE_PATTERN, (code) => codeHint(code.replace(/-/g, '')));
}

function scrubValue(value: unknown): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = typeof v === 'string' ? scrubSecrets(v) : v;
    return out;
  }
  return value;
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
