import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { originOf, summarize } from '../bench/profile-summary';

describe('the benchmark profile summary', () => {
  it('names the function that took the CPU time, from a real V8 profile', function () {
    this.timeout(20_000);
    const dir = mkdtempSync(join(tmpdir(), 'licensor-profile-'));
    try {
      // A script that spends ~300 ms in one named function, profiled by node itself.
      const script = join(dir, 'spin.js');
      writeFileSync(
        script,
        'function spinForProfile() { const end = Date.now() + 300; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x; }\nspinForProfile();\n',
      );
      execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, script]);
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
      const { busyMs, byFunction, byOrigin } = summarize(JSON.parse(readFileSync(join(dir, file), 'utf8')));

      const [top, us] = [...byFunction].sort((a, b) => b[1] - a[1])[0]!;
      assert.match(top, /^spinForProfile .*spin\.js:1$/);
      assert.ok(us / 1000 > busyMs / 2, `${top} had ${us / 1000} ms of ${busyMs} ms busy`);
      assert.ok(byOrigin.has(`file://${script}`), `origins: ${[...byOrigin.keys()].join(', ')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('groups frames by package, our code and the runtime', () => {
    assert.equal(originOf('file:///x/node_modules/express/lib/response.js', 'send'), 'express');
    assert.equal(originOf('file:///x/node_modules/@scope/pkg/index.js', 'f'), '@scope/pkg');
    assert.equal(originOf('file:///x/dist/src/http/app.js', 'identify'), 'licensor');
    assert.equal(originOf('file:///x/dist/client/check.js', 'check'), 'licensor');
    assert.equal(originOf('node:internal/crypto/sig', 'signOneShot'), 'node (internals)');
    assert.equal(originOf('', '(garbage collector)'), '(garbage collector)');
    assert.equal(originOf('', '(idle)'), '(idle)');
    assert.equal(originOf('', 'writev'), '(native, program)');
  });
});
