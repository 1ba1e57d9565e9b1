import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { withServerCpu } from '../bench/support';

// Once told to, the process spends 400 ms of CPU time on its main thread, then starts a worker thread
// that spends 200 ms and ends (CPU time, not wall time: the same on a busy machine); then it waits to
// be stopped. process.cpuUsage() counts the whole process, and the other thread is idle meanwhile.
const SPIN = 'for (const from = process.cpuUsage(), u = { v: 0 }; u.v < MS * 1000; u.v = ((c) => c.user + c.system)(process.cpuUsage(from)));';
const CHILD = `
  const { Worker } = require('node:worker_threads');
  process.stdin.once('data', () => {
    ${SPIN.replace('MS', '400')}
    new Worker(${JSON.stringify(SPIN.replace('MS', '200'))}, { eval: true }).once('exit', () => console.log('done'));
  });
  setInterval(() => {}, 1000);
  console.log('ready');`;

describe('the benchmark figure of server CPU per answer', () => {
  it('charges a process the CPU it spent during the load, per answer, on its main thread and in all, threads that ended too', async function () {
    this.timeout(20_000);
    const child = spawn(process.execPath, ['-e', CHILD]);
    try {
      await once(child.stdout, 'data');
      const result = await withServerCpu(child.pid!, async () => {
        child.stdin.write('go\n');
        await once(child.stdout, 'data');
        return { rps: 0, answers: 4, p50: 0, p99: 0, latencies: [], elapsedMs: 0, non2xx: 0, errors: 0, refused: new Map<string, number>() };
      });
      if (process.platform !== 'linux') {
        assert.equal(result.cpu, null, 'only Linux has /proc to read it from');
        return;
      }
      assert.ok(result.cpu, 'no figure on Linux');
      // 400 ms over 4 answers is 100,000 µs each, give or take a 10 ms tick at either end and the
      // child's own reading, writing and starting the worker around the spin.
      assert.ok(result.cpu.mainUs >= 90_000 && result.cpu.mainUs <= 135_000, `main ${result.cpu.mainUs} µs`);
      // The worker's 200 ms is 50,000 µs an answer more in all, though its thread is gone when the
      // load ends; the process's other threads may have spent some of it meanwhile.
      const others = result.cpu.allUs - result.cpu.mainUs;
      assert.ok(others >= 35_000 && others <= 90_000, `others ${others} µs`);
    } finally {
      child.kill();
    }
  });
});
