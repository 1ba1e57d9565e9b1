import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { limitClause } from '../src/storage/direct-sql';

/**
 * SQLite plans a bound LIMIT as the number bound, so a kept statement whose LIMIT is bound again
 * compiles anew at every run (src/storage/direct-sql.ts, docs/data-model.md "Statements on
 * SQLite"). Nothing in SQL tells it from the outside, so the rule is checked on the text.
 */
describe('row limits in hand-written statements', () => {
  const root = join(__dirname, '..', '..');

  function sources(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return sources(path);
      return entry.name.endsWith('.ts') ? [path] : [];
    });
  }

  it('writes the number into the statement', () => {
    assert.equal(limitClause(5000), 'LIMIT 5000');
    assert.equal(limitClause(0), 'LIMIT 0');
  });

  it('refuses anything but a whole number of rows, so nothing else is written into a statement', () => {
    for (const rows of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      assert.throws(() => limitClause(rows), RangeError, String(rows));
    }
  });

  it('binds no LIMIT anywhere in the server', () => {
    const bound = sources(join(root, 'src')).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => (/\bLIMIT\s+\?/i.test(line) ? [`${relative(root, file)}:${i + 1}: ${line.trim()}`] : [])),
    );
    assert.deepEqual(bound, []);
  });
});
