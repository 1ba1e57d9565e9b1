/**
 * What a run made PostgreSQL write to its WAL, per answer: the bytes (the server's WAL position
 * on disk before and after, so anything else writing meanwhile counts too), and the full-page images of
 * the benchmark database's relations, by relation, read back with pg_walinspect
 * (docs/performance.md "What a million machines cost PostgreSQL"). A page's first change after a
 * checkpoint is logged whole; a commit waits for its WAL to reach the disk. And the CPU time
 * PostgreSQL's processes spent meanwhile, when they run on this machine: on a machine the database
 * shares with the server, it is CPU the server does not get.
 *
 * The images need the pg_walinspect extension (PostgreSQL 15+, contrib; creating it needs a
 * superuser): without it only the bytes are printed. The WAL is read right after the run, before
 * a checkpoint can recycle it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Knex } from 'knex';
import { statCpuUs } from './support';

export interface WalFigures {
  bytes: number;
  /** Full-page images by relation name; null when pg_walinspect is not available. */
  images: Map<string, number> | null;
  /** CPU time of this machine's PostgreSQL processes, µs; null when none runs here (a remote server). */
  cpuUs: number | null;
}

/**
 * CPU time used so far by each process named `postgres` on this machine (the postmaster, its
 * backends, the WAL writer, the checkpointer…), µs by pid; null when there are none.
 */
export function postgresCpuByPid(): Map<number, number> | null {
  const used = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === 'postgres') used.set(Number(entry), statCpuUs(stat));
  }
  return used.size > 0 ? used : null;
}

/**
 * What PostgreSQL's processes spent between two readings: each one's growth, all of a process
 * started meanwhile. A process that ended meanwhile (an autovacuum worker, the backend of a closed
 * connection) takes its time with it: counted as nothing, never as less.
 */
export function postgresCpuSpent(before: Map<number, number> | null, after: Map<number, number> | null): number | null {
  if (before === null || after === null) return null;
  let spent = 0;
  for (const [pid, us] of after) spent += Math.max(0, us - (before.get(pid) ?? 0));
  return spent;
}

/** How far the WAL is on disk: pg_walinspect reads no further, and a commit has waited for its records to be there. */
async function walPosition(knex: Knex): Promise<string> {
  const result = await knex.raw<{ rows: Array<{ lsn: string }> }>('SELECT pg_current_wal_flush_lsn()::text AS lsn');
  return result.rows[0]!.lsn;
}

async function canInspect(knex: Knex): Promise<boolean> {
  try {
    await knex.raw('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
    return true;
  } catch {
    return false;
  }
}

/** Runs `work` and reports the WAL it wrote (all of the server's, during it). */
export async function walDuring<T>(knex: Knex, work: () => Promise<T>): Promise<{ result: T; wal: WalFigures }> {
  const inspect = await canInspect(knex);
  const start = await walPosition(knex);
  const cpuBefore = postgresCpuByPid();
  const result = await work();
  const cpuAfter = postgresCpuByPid();
  const end = await walPosition(knex);
  const cpuUs = postgresCpuSpent(cpuBefore, cpuAfter);
  const bytes = Number((await knex.raw<{ rows: Array<{ bytes: string }> }>('SELECT pg_wal_lsn_diff(?, ?)::text AS bytes', [end, start])).rows[0]!.bytes);
  if (!inspect) return { result, wal: { bytes, images: null, cpuUs } };
  if (bytes === 0) return { result, wal: { bytes, images: new Map(), cpuUs } };
  // Block references read "rel <tablespace>/<database>/<filenode> fork main blk <n> (FPW); …"; this database's only.
  const images = await knex.raw<{ rows: Array<{ relation: string | null; filenode: string; n: string }> }>(
    `SELECT c.relname AS relation, refs.filenode, count(*)::text AS n
       FROM pg_get_wal_records_info(?::pg_lsn, ?::pg_lsn) AS r,
            regexp_matches(r.block_ref, 'rel \\d+/(\\d+)/(\\d+) fork \\w+ blk \\d+ \\(FPW\\)', 'g') AS m,
            LATERAL (SELECT m[1]::oid AS database, m[2]::oid AS filenode) AS refs
       LEFT JOIN pg_class c ON pg_relation_filenode(c.oid) = refs.filenode
      WHERE refs.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      GROUP BY 1, 2`,
    [start, end],
  );
  return { result, wal: { bytes, images: new Map(images.rows.map((r) => [r.relation ?? `filenode ${r.filenode}`, Number(r.n)])), cpuUs } };
}

/** The figures of runs taken in turns (support.ts inTurns), as of one run; null if any turn has none. */
export function mergedWal(turns: ReadonlyArray<WalFigures | null>): WalFigures | null {
  if (turns.length === 0 || turns.some((t) => t === null)) return null;
  const all = turns as WalFigures[];
  const images = all.every((t) => t.images !== null) ? new Map<string, number>() : null;
  if (images) for (const t of all) for (const [relation, n] of t.images!) images.set(relation, (images.get(relation) ?? 0) + n);
  return {
    bytes: all.reduce((sum, t) => sum + t.bytes, 0),
    images,
    cpuUs: all.every((t) => t.cpuUs !== null) ? all.reduce((sum, t) => sum + t.cpuUs!, 0) : null,
  };
}

/**
 * "4.3 KiB, 0.00 full-page images, CPU 812 µs" or "55.1 KiB, 4.31 full-page images (3.98
 * activation_anchors_…, …), CPU 1,020 µs", per answer.
 */
export function walCell(wal: WalFigures, answers: number): string {
  if (answers <= 0) return 'n/a';
  const kib = `${(wal.bytes / answers / 1024).toFixed(1)} KiB`;
  const cpu = wal.cpuUs === null ? '' : `, CPU ${Math.round(wal.cpuUs / answers).toLocaleString('en')} µs`;
  if (wal.images === null) return `${kib} (full-page images not counted: no pg_walinspect)${cpu}`;
  const byRelation = [...wal.images].sort((a, b) => b[1] - a[1]);
  const total = byRelation.reduce((sum, [, n]) => sum + n, 0);
  const named = byRelation
    .filter(([, n]) => n / answers >= 0.01)
    .slice(0, 3)
    .map(([relation, n]) => `${(n / answers).toFixed(2)} ${relation}`);
  return `${kib}, ${(total / answers).toFixed(2)} full-page images${named.length > 0 ? ` (${named.join(', ')})` : ''}${cpu}`;
}
