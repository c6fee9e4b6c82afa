// Memory of a running sandbox, two ways: its cgroup's usage less reclaimable file cache (what the
// metrics report as used), and the PSS of its processes (their fair share of RAM).
import { readFile } from 'node:fs/promises';
import { readCgroupStats } from '../src/runtime/runc/cgroup-stats.js';

const MiB = 1024 * 1024;

export async function sandboxMemory(id: string): Promise<{ workingSetMiB: number; pssMiB: number }> {
  const stats = readCgroupStats(id);
  if (!stats) throw new Error(`sandbox ${id} has no cgroup`);
  const pids = (await readFile(`/sys/fs/cgroup/memory/sandcastle/${id}/cgroup.procs`, 'utf8')).trim().split('\n').filter(Boolean);
  let pssKiB = 0;
  for (const pid of pids) {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
    pssKiB += Number(/^Pss:\s+(\d+) kB$/m.exec(rollup)?.[1] ?? 0);
  }
  return { workingSetMiB: stats.memoryUsedBytes / MiB, pssMiB: pssKiB / 1024 };
}
