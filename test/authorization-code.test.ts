import { strict as assert } from 'node:assert';
import { CODE_ALPHABET, codeHint, formatAuthorizationCode, generateAuthorizationCode, normalizeAuthorizationCode } from '../src/domain/authorization-code';

describe('authorization codes', () => {
  it('carry at least 100 bits of randomness in an alphabet of 32 symbols', () => {
    const code = generateAuthorizationCode();
    assert.equal(CODE_ALPHABET.length, 32);
    assert.ok(code.length * Math.log2(CODE_ALPHABET.length) >= 100);
  });

  it('leave out the look-alike letters I, L, O and U', () => {
    for (const c of 'ILOU') assert.ok(!CODE_ALPHABET.includes(c));
  });

  it('use every symbol about equally often (no modulo bias)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) for (const c of generateAuthorizationCode()) counts.set(c, (counts.get(c) ?? 0) + 1);
    assert.equal(counts.size, 32);
    const expected = (2000 * 25) / 32;
    for (const n of counts.values()) assert.ok(Math.abs(n - expected) < expected * 0.2, `count ${n} vs ${expected}`);
  });

  it('do not repeat', () => {
    const seen = new Set(Array.from({ length: 10_000 }, () => generateAuthorizationCode()));
    assert.equal(seen.size, 10_000);
  });

  it('print in five groups of five', () => {
    assert.equal(formatAuthorizationCode('ABCDEFGHJKMNPQRSTVWXYZ234'), 'ABCDE-FGHJK-MNPQR-STVWX-YZ234');
  });

  it('read back ignoring case, dashes and spaces', () => {
    const code = generateAuthorizationCode();
    const typed = formatAuthorizationCode(code).toLowerCase().replace(/-/g, ' - ');
    assert.equal(normalizeAuthorizationCode(typed), code);
  });

  it('read O as zero and I or L as one, as a person would mean them', () => {
    assert.equal(normalizeAuthorizationCode('oOiIl-23456-789AB-CDEFG-HJKMN'), '0011123456789ABCDEFGHJKMN');
  });

  it('refuse input that can never be a code', () => {
    for (const bad of ['', 'short', 'ABCDE-FGHJK-MNPQR-STVWX-YZ2345', 'ABCDE-FGHJK-MNPQR-STVWX-YZ23U', "'; DROP TABLE codes; --"]) {
      assert.throws(() => normalizeAuthorizationCode(bad), { code: 'malformed_code' });
    }
  });

  it('show only a short hint in logs', () => {
    const hint = codeHint('ABCDEFGHJKMNPQRSTVWXYZ234');
    assert.equal(hint, 'ABCD…34');
  });
});
