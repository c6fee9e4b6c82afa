// Percentiles (nearest rank), process CPU time and the result table of the benchmarks.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostCgroupLayout, sandboxesCgroupDir } from '../src/runtime/runc/cgroup-layout.js';

export interface Row {
  name: string;
  unit: string;
  p50?: number;
  p95?: number;
  value?: number;
  target?: string;
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

const fmt = (n: number | undefined) => (n === undefined ? '' : n.toFixed(n < 10 ? 2 : 1));

export function printTable(rows: Row[]): void {
  const header = ['measure', 'unit', 'p50', 'p95', 'value', 'target'];
  const cells = rows.map((r) => [r.name, r.unit, fmt(r.p50), fmt(r.p95), fmt(r.value), r.target ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join(' | ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const c of cells) console.log(line(c));
}

/** CPU time (user + system) a process has used, in ticks of 1/ticksPerSecond s, from
 *  /proc/<pid>/stat. */
export function cpuTicks(pid: number): number {
  // Fields after the command name (which may hold spaces) start at state; utime, stime are 14, 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

export const ticksPerSecond = 100; // USER_HZ on Linux

/** CPU time every core of the machine has spent busy so far (user, nice, system, interrupts), in
 *  ms: what a run took of the whole machine, its own processes and the sandboxes' alike. */
export function machineBusyMs(): number {
  return os.cpus().reduce((ms, { times }) => ms + times.user + times.nice + times.sys + times.irq, 0);
}

/** CPU every sandbox's cgroup has used, in ms: the parent of all of them counts what their
 *  processes used, those of removed sandboxes included (CRIU's restore runs in the restored
 *  tasks, so it is counted here too). */
export function sandboxesCpuMs(): number {
  const layout = hostCgroupLayout();
  const parent = sandboxesCgroupDir(layout, 'cpuacct');
  try {
    if (layout.version === 'v1') return Number(readFileSync(path.join(parent, 'cpuacct.usage'), 'utf8')) / 1e6;
    const usec = /^usage_usec (\d+)$/m.exec(readFileSync(path.join(parent, 'cpu.stat'), 'utf8'))?.[1];
    return Number(usec ?? 0) / 1000;
  } catch {
    return 0; // no sandbox made yet
  }
}
