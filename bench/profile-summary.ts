/**
 * Where a process's CPU time went, from a V8 CPU profile (`BENCH_CPU_PROFILE=<dir>` makes the
 * benchmark's processes write them):
 *
 *   node dist/bench/profile-summary.js <file.cpuprofile> [top=25]
 *
 * Prints self time by origin (our code, each package, Node's internals, native work, idle) and
 * the functions with the most self time, with the share of busy time each.
 */
import { readFileSync } from 'node:fs';
import { fmt } from './support';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The package or part of the runtime a frame belongs to. */
export function originOf(url: string, functionName: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node (internals)';
  if (/\/dist\/(src|client)\//.test(url)) return 'licensor';
  if (url === '') return functionName === '(idle)' || functionName === '(garbage collector)' ? functionName : '(native, program)';
  return url;
}

export function summarize(profile: CpuProfile): { busyMs: number; idleMs: number; byOrigin: Map<string, number>; byFunction: Map<string, number> } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byOrigin = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const frame = nodes.get(id)!.callFrame;
    const origin = originOf(frame.url, frame.functionName);
    if (origin === '(idle)') {
      idle += us;
      return;
    }
    busy += us;
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us);
    const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|dist)\//, '')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  });
  return { busyMs: busy / 1000, idleMs: idle / 1000, byOrigin, byFunction };
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node dist/bench/profile-summary.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  const top = Number(topArg ?? 25);
  const { busyMs, idleMs, byOrigin, byFunction } = summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const share = (us: number) => `${((us / 1000 / busyMs) * 100).toFixed(1).padStart(5)} %`;
  console.log(`${file}\nbusy ${fmt(busyMs)} ms, idle ${fmt(idleMs)} ms\n\nself time by origin`);
  for (const [origin, us] of [...byOrigin].sort((a, b) => b[1] - a[1])) console.log(`  ${share(us)}  ${origin}`);
  console.log(`\ntop ${top} functions by self time`);
  for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${share(us)}  ${fn}`);
}

if (require.main === module) main();
