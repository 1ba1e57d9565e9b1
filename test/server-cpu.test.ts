import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { withServerCpu } from '../bench/support';

describe('the benchmark figure of server CPU per answer', () => {
  it('charges a process the CPU it spent during the load, per answer, on its main thread and in all', async function () {
    this.timeout(20_000);
    // A process that spends 400 ms of its main thread's CPU time once told to (CPU time, not wall
    // time: the same on a busy machine), then waits to be stopped.
    const child = spawn(process.execPath, [
      '-e',
      "process.stdin.once('data', () => { const from = process.cpuUsage(); for (let u = process.cpuUsage(from); u.user + u.system < 400000; u = process.cpuUsage(from)); console.log('done'); }); setInterval(() => {}, 1000); console.log('ready');",
    ]);
    try {
      await once(child.stdout, 'data');
      const result = await withServerCpu(child.pid!, async () => {
        child.stdin.write('go\n');
        await once(child.stdout, 'data');
        return { rps: 0, answers: 4, p50: 0, p99: 0, non2xx: 0, errors: 0, refused: new Map<string, number>() };
      });
      if (process.platform !== 'linux') {
        assert.equal(result.cpu, null, 'only Linux has /proc to read it from');
        return;
      }
      assert.ok(result.cpu, 'no figure on Linux');
      // 400 ms over 4 answers is 100,000 µs each, give or take a 10 ms tick at either end and the child's own
      // reading and writing around the spin.
      assert.ok(result.cpu.mainUs >= 90_000 && result.cpu.mainUs <= 125_000, `main ${result.cpu.mainUs} µs`);
      assert.ok(result.cpu.allUs >= result.cpu.mainUs);
    } finally {
      child.kill();
    }
  });
});
