import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs. Secrets never belong in a log line: we log codes only as hints and
 * never bodies; the redaction list is a second line of defence.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: undefined,
    redact: {
      paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization', 'privateKeyPem', '*.privateKeyPem', 'adminToken'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
