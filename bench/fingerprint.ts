/**
 * Fingerprint collection cost: the native addon against the spawning peers
 * (docs/fingerprint-design.md#rules-every-reader-keeps). Prints figures; never passes or fails on
 * time.
 *
 *   node dist/bench/fingerprint.js
 *
 * Besides the medians it prints what each component costs, and what the event loop does while
 * collect() runs: its longest stall against two loops that collect nothing, the main-thread
 * time of the completion callback and the garbage collections, all from the same run
 * (docs/fingerprint.md#measured).
 *
 * Peers are optional: `npm install --no-save node-machine-id systeminformation` to include them.
 */
import { createHook } from 'node:async_hooks';
import { promises as fs } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { PerformanceObserver, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { collect, collectSync } from '@licensor/client';
import { HARDWARE_COMPONENT_IDS } from '@licensor/client/contract';

interface Figures {
  name: string;
  calls: number;
  medianMs: number;
  p99Ms: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(name: string, calls: number, call: () => unknown): Promise<Figures> {
  for (let i = 0; i < Math.min(10, calls); i++) await call(); // warm caches and lazy loads
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = process.hrtime.bigint();
    await call();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { name, calls, medianMs: percentile(times, 50), p99Ms: percentile(times, 99) };
}

/**
 * Calls measured in turns (`rounds` × `perRound` calls of each), medians of all: a change in the
 * machine's load while they run falls on every case alike. A call that returns a promise is
 * timed until it settles; a synchronous one is not awaited.
 */
async function interleaved(cases: Array<{ name: string; call: () => unknown }>, rounds: number, perRound: number): Promise<Figures[]> {
  const times = cases.map(() => [] as number[]);
  for (const { call } of cases) for (let i = 0; i < 10; i++) await call(); // warm caches and lazy loads
  for (let round = 0; round < rounds; round++) {
    for (const [index, { call }] of cases.entries()) {
      for (let i = 0; i < perRound; i++) {
        const start = process.hrtime.bigint();
        const result = call();
        if (result instanceof Promise) await result;
        times[index]!.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
    }
  }
  return cases.map(({ name }, index) => {
    const sorted = times[index]!.sort((a, b) => a - b);
    return { name, calls: sorted.length, medianMs: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
  });
}

/** Longest the event loop went without turning while `work` ran, in ms (1 ms sampling). */
async function largestStall(work: () => Promise<unknown>): Promise<{ stallMs: number; elapsedMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const started = performance.now();
  await work();
  const elapsedMs = performance.now() - started;
  histogram.disable();
  // The histogram records timer lateness plus the 1 ms resolution itself.
  return { stallMs: Math.max(0, histogram.max / 1e6 - 1), elapsedMs };
}

/** Garbage-collection pauses (main thread) while `work` runs: how many, and the longest in ms. */
async function gcPauses(work: () => Promise<unknown>): Promise<{ count: number; longestMs: number }> {
  const pauses: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push(entry.duration);
  });
  observer.observe({ entryTypes: ['gc'] });
  await work();
  await new Promise((resolve) => setImmediate(resolve)); // entries arrive after the pause
  observer.disconnect();
  return { count: pauses.length, longestMs: Math.max(0, ...pauses) };
}

/**
 * Main-thread time of collect()'s completion callback (the AsyncWorker's OnOK: the result's JS
 * objects and the promise's resolution), in ms per call, sorted. Async hooks slow every promise,
 * so this runs apart from the stall measurement.
 */
async function completionCallbacks(calls: number): Promise<number[]> {
  const workers = new Set<number>();
  const durations: number[] = [];
  let started = 0;
  const hook = createHook({
    init(asyncId, type) {
      if (type === 'licensor:fingerprint') workers.add(asyncId);
    },
    before(asyncId) {
      if (workers.has(asyncId)) started = performance.now();
    },
    after(asyncId) {
      if (workers.delete(asyncId)) durations.push(performance.now() - started);
    },
  });
  hook.enable();
  for (let i = 0; i < calls; i++) await collect();
  hook.disable();
  return durations.sort((a, b) => a - b);
}

function optionalPeer<T>(name: string): T | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional, resolved at run time
    return require(name) as T;
  } catch {
    return undefined;
  }
}

interface MachineIdModule {
  machineIdSync(original?: boolean): string;
  machineId(original?: boolean): Promise<string>;
}

interface SystemInformationModule {
  uuid(): Promise<unknown>;
  cpu(): Promise<unknown>;
  diskLayout(): Promise<unknown>;
  networkInterfaces(): Promise<unknown>;
  system(): Promise<unknown>;
}

const ms = (v: number) => (v < 1 ? `${(v * 1000).toFixed(1)} µs` : `${v.toFixed(2)} ms`);

function format(f: Figures): string {
  return `${f.name.padEnd(52)} ${String(f.calls).padStart(5)} calls   median ${ms(f.medianMs).padStart(10)}   p99 ${ms(f.p99Ms).padStart(10)}`;
}

export async function main(): Promise<void> {
  const rows: Figures[] = [];
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const loadAtStart = loadavg()[0]!;

  // The whole collection, both ways, and each component alone (every call also makes the
  // environment report, and reads CPUID and the SMBIOS names, both remembered: hw.model reads
  // nothing else, so it is what all of them share), taken in turns of 100 calls each, so that a
  // change in the machine's load (PostgreSQL flushing after the heartbeat benchmark, say) falls on
  // every figure alike.
  const figures = await interleaved(
    [
      { name: 'licensor collectSync() (all components)', call: () => collectSync() },
      { name: 'licensor collect() (all components, AsyncWorker)', call: () => collect() },
      ...HARDWARE_COMPONENT_IDS.map((id) => ({ name: id, call: () => collectSync({ include: [id] }) })),
    ],
    20,
    100,
  );
  const [native, nativeAsync] = figures as [Figures, Figures];
  const perComponent = figures.slice(2);
  rows.push(native, nativeAsync);
  const shared = perComponent.find((f) => f.name === 'hw.model')!;

  let collectLoop = { stallMs: 0, elapsedMs: 0 };
  const gc = await gcPauses(async () => {
    collectLoop = await largestStall(async () => {
      for (let i = 0; i < 2000; i++) await collect();
    });
  });
  // Two loops that collect nothing, each for as long as the collect() loop ran, to read its figure
  // against: the longest stall is the machine's rarest hiccup, and a shorter loop meets fewer. One
  // awaits setImmediate (the scheduler and GC alone), one a libuv thread-pool round trip that does
  // almost nothing (stat "/"), as collect() makes one.
  const forAsLong = (turn: () => Promise<unknown>) => async () => {
    const end = performance.now() + collectLoop.elapsedMs;
    while (performance.now() < end) await turn();
  };
  const immediateLoop = await largestStall(forAsLong(() => new Promise((resolve) => setImmediate(resolve))));
  const threadPoolLoop = await largestStall(forAsLong(() => fs.stat('/')));
  const callbacks = await completionCallbacks(2000);
  const loadAtEnd = loadavg()[0]!;

  const machineId = optionalPeer<MachineIdModule>('node-machine-id');
  if (machineId) {
    rows.push(await measure('node-machine-id machineIdSync()', 100, () => machineId.machineIdSync()));
    rows.push(await measure('node-machine-id machineId()', 100, () => machineId.machineId()));
  }

  const si = optionalPeer<SystemInformationModule>('systeminformation');
  let siStall: number | undefined;
  let siFull: Figures | undefined;
  if (si) {
    // What the addon's components need from systeminformation: ids, CPU, disks, NICs, SMBIOS.
    const everything = async () => {
      await si.uuid();
      await si.cpu();
      await si.diskLayout();
      await si.networkInterfaces();
      await si.system();
    };
    rows.push(await measure('systeminformation uuid()', 20, () => si.uuid()));
    rows.push(await measure('systeminformation cpu()', 20, () => si.cpu()));
    rows.push(await measure('systeminformation diskLayout()', 20, () => si.diskLayout()));
    rows.push(await measure('systeminformation networkInterfaces()', 20, () => si.networkInterfaces()));
    rows.push(await measure('systeminformation system()', 20, () => si.system()));
    siFull = await measure('systeminformation all five (equivalent coverage)', 20, everything);
    rows.push(siFull);
    siStall = (await largestStall(everything)).stallMs;
  }

  out(
    `fingerprint collection, node ${process.version}, ${process.platform}/${process.arch}, ` +
      `${availableParallelism()} CPUs, load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end`,
  );
  for (const row of rows) out(format(row));
  out('');
  out('per component: collectSync({ include: [id] }), median; each call also makes the environment report');
  for (const f of perComponent) {
    const own = f === shared ? '(reads nothing else: the part every call shares)' : `+${ms(Math.max(0, f.medianMs - shared.medianMs))} over hw.model`;
    out(`  ${f.name.padEnd(18)} ${ms(f.medianMs).padStart(10)}   ${own}`);
  }
  out('');
  out(`largest event-loop stall during 2000 × collect() (${collectLoop.elapsedMs.toFixed(0)} ms): ${collectLoop.stallMs.toFixed(2)} ms`);
  out(`  same loop awaiting setImmediate for as long: ${immediateLoop.stallMs.toFixed(2)} ms`);
  out(`  same loop awaiting fs.stat('/') on the thread pool for as long: ${threadPoolLoop.stallMs.toFixed(2)} ms`);
  out(
    `  main thread per collect(): completion callback median ${ms(percentile(callbacks, 50))}, p99 ${ms(percentile(callbacks, 99))}, ` +
      `longest ${ms(callbacks[callbacks.length - 1]!)}; ${gc.count} GC pauses during the loop, longest ${ms(gc.longestMs)}`,
  );
  if (siStall !== undefined) out(`largest event-loop stall during one systeminformation sweep: ${siStall.toFixed(2)} ms`);
  if (siFull) out(`systeminformation (all five) / licensor collect(): ${(siFull.medianMs / nativeAsync.medianMs).toFixed(0)}× slower`);
  if (!machineId || !si) {
    const missing = [machineId ? null : 'node-machine-id', si ? null : 'systeminformation'].filter(Boolean).join(' ');
    out(`not measured (not installed): ${missing} — npm install --no-save ${missing}`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
