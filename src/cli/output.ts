import { LicensorError } from '../domain/errors';
import { ConfigError } from '../config';

/** Where CLI text goes; injectable so tests read it without spawning a process. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : text + '\n'),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : text + '\n'),
};

export class UsageError extends Error {}

/** Prints a result as JSON (for scripts) or as aligned text (for people). */
export function print(io: Io, json: boolean, value: unknown, human: () => string): void {
  io.out(json ? JSON.stringify(value, null, 2) : human());
}

export function table(rows: Array<Record<string, string>>, columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => r[c] ?? '')))].join('\n');
}

/** Exit codes: 0 ok, 1 refused by the rules or failed, 2 bad usage. */
export function reportError(io: Io, json: boolean, err: unknown): number {
  if (err instanceof UsageError) {
    io.err(`error: ${err.message}\nRun with --help for usage.`);
    return 2;
  }
  if (err instanceof ConfigError) {
    io.err(err.message);
    return 2;
  }
  if (err instanceof LicensorError) {
    if (json) io.out(JSON.stringify({ error: { code: err.code, message: err.message, details: err.details } }, null, 2));
    else io.err(`error: ${err.code}: ${err.message}`);
    return err.kind === 'invalid_input' ? 2 : 1;
  }
  io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
}
