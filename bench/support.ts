import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';

export const ROOT = join(__dirname, '..', '..');

export interface Running {
  child: ChildProcess;
  url: string;
  /** The first output line from now on that matches, or null after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string | null>;
  stop(): Promise<void>;
}

/** Starts a node script as a child process and waits for the URL it prints (`listening on <url>`). */
export function startProcess(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [...profileArgs(), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      text += d;
      const m = /listening on (http:\/\/\S+)/.exec(text);
      if (m) {
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve({
          child,
          url: m[1]!,
          waitForLine: (pattern, timeoutMs) => waitForLine(child, pattern, timeoutMs),
          stop: () =>
            new Promise((done) => {
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`process exited with ${code}:\n${text}`)));
  });
}

/**
 * BENCH_CPU_PROFILE=<dir>: every process the benchmark starts writes a V8 CPU profile there when it
 * stops (bench/profile-summary.ts reads them). Profiling slows the servers: use it to find where
 * the time goes, not for the figures.
 */
function profileArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROFILE;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    let partial = '';
    const finish = (line: string | null) => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      resolve(line);
    };
    const onData = (d: Buffer) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      const hit = lines.find((l) => pattern.test(l));
      if (hit !== undefined) finish(hit);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
}

/**
 * At one connection there is nothing to do in parallel, only latency, and which cores the
 * scheduler gives the load generator and the server decided the figure (the bare route alone
 * varied by half run to run on these 2 cores: docs/performance.md#how-noisy-the-baselines-are). While `run` runs, the servers share one core
 * and this process (the load generator) has another, for the bare route and licensor alike.
 * Where that cannot be done (one core, no taskset) the run is left as it is, and says so.
 */
export async function pinnedApart<T>(servers: Running[], run: () => Promise<T>): Promise<{ result: T; pinned: boolean }> {
  const cores = availableParallelism();
  const pin = (pid: number, cpus: string) => execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
  const pids = [process.pid, ...servers.map((s) => s.child.pid!)];
  // Back on every core, also after a pinning that failed half-way (the run is then unpinned).
  const unpin = () => pids.forEach((pid) => pin(pid, `0-${cores - 1}`));
  let pinned = cores >= 2;
  if (pinned) {
    try {
      pin(process.pid, '0');
      for (const s of servers) pin(s.child.pid!, '1');
    } catch {
      pinned = false;
      try {
        unpin();
      } catch {
        // no taskset at all: nothing was pinned
      }
    }
  }
  try {
    return { result: await run(), pinned };
  } finally {
    if (pinned) unpin();
  }
}

/** Peak resident memory of a process so far (Linux VmHWM), in MiB. */
export function peakRssMiB(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export interface LoadResult {
  rps: number;
  /** Answers received. */
  answers: number;
  /** Latencies of the 2xx answers in ms, exact (autocannon's own histogram keeps whole milliseconds). */
  p50: number;
  p99: number;
  /** Every 2xx answer's latency in ms, sorted: what runs taken in turns are merged from. */
  latencies: number[];
  /** From the load's start to its last answer, in ms. */
  elapsedMs: number;
  non2xx: number;
  errors: number;
  /** The answers that were not 2xx, by status and (where the load reads bodies) the refusal's code: `503 database_busy`. */
  refused: Map<string, number>;
}

/** One request of a load: POST of a JSON body unless said otherwise. */
export interface BenchRequest {
  method?: string;
  path?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface LoadOptions {
  connections: number;
  /** As long as this, or until `amount` requests were answered. */
  seconds?: number;
  amount?: number;
  /** At most this many requests a second in all; as fast as answered without. */
  rate?: number;
  /** The answers' status and body, for loads that collect what the server made. */
  onResponse?: (status: number, body: string) => void;
}

/** Runs requests from `next()` against `url` (scheme, host and port) and measures them. */
export async function loadRequests(url: string, options: LoadOptions, next: () => BenchRequest): Promise<LoadResult> {
  const latencies: number[] = [];
  // autocannon ends a run of a fixed number of requests at its next whole-second tick, and its
  // rate is per whole second: the rate here is the answers over the time until the last of them.
  const started = performance.now();
  let answers = 0;
  let lastAnswer = started;
  const refused = new Map<string, number>();
  const tally = (what: string) => refused.set(what, (refused.get(what) ?? 0) + 1);
  const onResponse = options.onResponse;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: options.connections,
        ...(options.amount === undefined ? { duration: options.seconds ?? 5 } : { amount: options.amount }),
        ...(options.rate === undefined ? {} : { overallRate: options.rate }),
        requests: [
          {
            setupRequest: (req: Record<string, unknown>) => {
              const r = next();
              const json = r.body !== undefined;
              return {
                ...req,
                method: r.method ?? 'POST',
                ...(r.path ? { path: r.path } : {}),
                headers: { ...(json ? { 'content-type': 'application/json' } : {}), ...r.headers },
                body: json ? JSON.stringify(r.body) : undefined,
              };
            },
            ...(onResponse
              ? {
                  onResponse: (status: number, body: string) => {
                    if (status >= 300) tally(`${status} ${refusalCode(body)}`);
                    onResponse(status, body);
                  },
                }
              : {}),
          },
        ],
      } as unknown as autocannon.Options,
      (err: Error | null, res: autocannon.Result) => (err ? reject(err) : resolve(res)),
    );
    (instance as unknown as NodeJS.EventEmitter).on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      answers++;
      lastAnswer = performance.now();
      if (status >= 200 && status < 300) latencies.push(ms);
      else if (!onResponse) tally(String(status));
    });
  });
  latencies.sort((a, b) => a - b);
  return figures(answers, lastAnswer - started, latencies, { non2xx: result.non2xx, errors: result.errors + result.timeouts, refused });
}

/** A load's figures from its answers, the time until the last of them and their latencies, sorted. */
function figures(answers: number, elapsedMs: number, latencies: number[], failures: Pick<LoadResult, 'non2xx' | 'errors' | 'refused'>): LoadResult {
  return {
    rps: answers / (elapsedMs / 1000),
    answers,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    latencies,
    elapsedMs,
    ...failures,
  };
}

/** The `q` quantile of sorted latencies, to 0.01 ms; NaN of none. */
function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? NaN : Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2));
}

/**
 * Runs each of `loads` `rounds` times, in turns, the first of each round rotating, and gives each
 * one's turns, to be merged (`merged`). This machine's busy stretches last longer than a turn of a
 * second (docs/performance.md#how-noisy-the-baselines-are), so they fall on every load alike rather
 * than on whichever ran in them: a ratio between loads moves less from one run to the next.
 */
export async function inTurns<K extends string, R>(loads: Record<K, () => Promise<R>>, rounds: number): Promise<Record<K, R[]>> {
  const names = Object.keys(loads) as K[];
  const turns = Object.fromEntries(names.map((name) => [name, [] as R[]])) as Record<K, R[]>;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length]!;
      turns[name].push(await loads[name]());
    }
  }
  return turns;
}

/** One load's turns (inTurns) as one run. */
export function merged(turns: ReadonlyArray<LoadResult & { cpu?: CpuPerAnswer | null }>): LoadResult & { cpu: CpuPerAnswer | null } {
  const answers = turns.reduce((sum, t) => sum + t.answers, 0);
  const elapsedMs = turns.reduce((sum, t) => sum + t.elapsedMs, 0);
  const latencies = turns.flatMap((t) => t.latencies).sort((a, b) => a - b);
  const refused = new Map<string, number>();
  for (const t of turns) for (const [what, n] of t.refused) refused.set(what, (refused.get(what) ?? 0) + n);
  // CPU per answer weighted by each turn's answers; unknown if any turn's is.
  const cpu = turns.every((t) => t.cpu)
    ? {
        mainUs: turns.reduce((sum, t) => sum + t.cpu!.mainUs * t.answers, 0) / answers,
        allUs: turns.reduce((sum, t) => sum + t.cpu!.allUs * t.answers, 0) / answers,
      }
    : null;
  const failures = { non2xx: turns.reduce((sum, t) => sum + t.non2xx, 0), errors: turns.reduce((sum, t) => sum + t.errors, 0), refused };
  return { ...figures(answers, elapsedMs, latencies, failures), cpu };
}

/** The stable code of a refusal's body (`{ "error": { "code" } }`), or `?`. */
function refusalCode(body: string): string {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : '?';
  } catch {
    return '?';
  }
}

/** What a load's failures were, for a row's notes: `3 non-2xx/errors: 503 database_busy ×2, 1 error`. */
export function failuresNote(result: LoadResult): string {
  const bad = result.non2xx + result.errors;
  if (bad === 0) return '';
  const parts = [...result.refused].map(([what, n]) => `${what} ×${n}`);
  if (result.errors > 0) parts.push(`${result.errors} error${result.errors === 1 ? '' : 's'} or timeout${result.errors === 1 ? '' : 's'}`);
  return `${bad} non-2xx/errors: ${parts.join(', ')}`;
}

/** CPU time a server used per answer, in µs: on its main thread, and on all its threads (libuv's pool too). */
export interface CpuPerAnswer {
  mainUs: number;
  allUs: number;
}

const TICK_US = (() => {
  try {
    return 1_000_000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  } catch {
    return 10_000;
  }
})();

/** The CPU time, in µs, of a Linux `/proc/…/stat` line: utime and stime, the 14th and 15th fields (the name before them may hold spaces). */
export function statCpuUs(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

/**
 * CPU time used so far by a process's main thread and by the whole process, in µs (Linux /proc; null
 * elsewhere). The whole comes from the process's own stat, which keeps the time of threads that have
 * ended; a sum over the live threads would lose it. `mainFirst` orders the two reads so that the
 * window measured for the whole holds the main thread's: all first before a load, main first after.
 */
function cpuTimeUs(pid: number, mainFirst: boolean): { main: number; all: number } | null {
  const used = (statPath: string) => statCpuUs(readFileSync(statPath, 'utf8'));
  try {
    const main = () => used(`/proc/${pid}/task/${pid}/stat`);
    const all = () => used(`/proc/${pid}/stat`);
    // An object literal's values are computed in the order they are written.
    return mainFirst ? { main: main(), all: all() } : { all: all(), main: main() };
  } catch {
    return null;
  }
}

/**
 * Runs a load and adds what the server process `pid` spent on it per answer: the least work a
 * request must do is also a question of CPU, which a throughput ratio on a shared machine blurs.
 * Ticks are 10 ms: meaningful over thousands of answers, not a few.
 */
export async function withServerCpu<T extends LoadResult>(pid: number, work: () => Promise<T>): Promise<T & { cpu: CpuPerAnswer | null }> {
  const before = cpuTimeUs(pid, false);
  const result = await work();
  const after = cpuTimeUs(pid, true);
  const cpu =
    before && after && result.answers > 0 ? { mainUs: (after.main - before.main) / result.answers, allUs: (after.all - before.all) / result.answers } : null;
  return { ...result, cpu };
}

/** "59 / 95 µs": main thread / all threads, per answer. */
export function cpuCell(cpu: CpuPerAnswer | null): string {
  return cpu ? `${fmt(cpu.mainUs)} / ${fmt(cpu.allUs)} µs` : 'n/a';
}

/**
 * POSTs JSON bodies from `next()` to `url` at a fixed number of connections for `seconds`: as fast
 * as they are answered, or at most `rate` requests a second in all. `headers` are sent with every
 * request; a function gives each request its own (a fresh nonce, as the client sends).
 */
export function load(
  url: string,
  connections: number,
  seconds: number,
  next: () => unknown,
  headers: Record<string, string> | (() => Record<string, string>) = {},
  rate?: number,
): Promise<LoadResult> {
  const { origin, pathname } = new URL(url);
  return loadRequests(origin, { connections, seconds, rate }, () => ({
    path: pathname,
    body: next(),
    headers: typeof headers === 'function' ? headers() : headers,
  }));
}

export function row(cells: Array<string | number>, widths: number[]): string {
  return cells.map((c, i) => String(c).padStart(widths[i] ?? 10)).join(' ');
}

export const fmt = (n: number, digits = 0) => n.toFixed(digits);
