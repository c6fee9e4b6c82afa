// Memory of a running sandbox, two ways: its cgroup's usage less reclaimable file cache (what the
// kernel would have to find to run it), and the PSS of its processes (their fair share of RAM).
import { readFile } from 'node:fs/promises';

const MiB = 1024 * 1024;

export async function sandboxMemory(id: string): Promise<{ workingSetMiB: number; pssMiB: number }> {
  const cg = `/sys/fs/cgroup/memory/sandcastle/${id}`;
  const usage = Number((await readFile(`${cg}/memory.usage_in_bytes`, 'utf8')).trim());
  const stat = await readFile(`${cg}/memory.stat`, 'utf8');
  const inactiveFile = Number(/^total_inactive_file (\d+)$/m.exec(stat)?.[1] ?? 0);
  const pids = (await readFile(`${cg}/cgroup.procs`, 'utf8')).trim().split('\n').filter(Boolean);
  let pssKiB = 0;
  for (const pid of pids) {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
    pssKiB += Number(/^Pss:\s+(\d+) kB$/m.exec(rollup)?.[1] ?? 0);
  }
  return { workingSetMiB: (usage - inactiveFile) / MiB, pssMiB: pssKiB / 1024 };
}
