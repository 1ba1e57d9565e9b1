/**
 * Fingerprint collection cost: the native addon against the spawning peers
 * (fingerprint-research §1.2). Prints figures; never passes or fails on time.
 *
 *   node dist/bench/fingerprint.js
 *
 * Peers are optional: `npm install --no-save node-machine-id systeminformation` to include them.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { collect, collectSync } from '@licensor/client';

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

/** Longest the event loop went without turning while `work` ran, in ms (1 ms sampling). */
async function largestStall(work: () => Promise<unknown>): Promise<number> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  await work();
  histogram.disable();
  // The histogram records timer lateness plus the 1 ms resolution itself.
  return Math.max(0, histogram.max / 1e6 - 1);
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

function format(f: Figures): string {
  const ms = (v: number) => (v < 1 ? `${(v * 1000).toFixed(1)} µs` : `${v.toFixed(2)} ms`);
  return `${f.name.padEnd(52)} ${String(f.calls).padStart(5)} calls   median ${ms(f.medianMs).padStart(10)}   p99 ${ms(f.p99Ms).padStart(10)}`;
}

export async function main(): Promise<void> {
  const rows: Figures[] = [];
  const out = (line: string) => process.stdout.write(`${line}\n`);

  const native = await measure('licensor collectSync() (all components)', 2000, () => collectSync());
  const nativeAsync = await measure('licensor collect() (all components, AsyncWorker)', 2000, () => collect());
  rows.push(native, nativeAsync);
  const collectStall = await largestStall(async () => {
    for (let i = 0; i < 2000; i++) await collect();
  });
  // The same loop doing nothing: GC and the machine's own noise, to read the figure against.
  const noiseFloor = await largestStall(async () => {
    for (let i = 0; i < 2000; i++) await new Promise((resolve) => setImmediate(resolve));
  });

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
    siStall = await largestStall(everything);
  }

  out(`fingerprint collection, node ${process.version}, ${process.platform}/${process.arch}`);
  for (const row of rows) out(format(row));
  out('');
  out(`largest event-loop stall during 2000 × collect(): ${collectStall.toFixed(2)} ms` +
      ` (same loop awaiting setImmediate instead: ${noiseFloor.toFixed(2)} ms)`);
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
