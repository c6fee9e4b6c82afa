// Reads a sandbox's usage from its cgroup v1 controllers (`/sys/fs/cgroup/<controller>/sandcastle/<id>`).
// Sampled every 2 s for every running sandbox, so each file is one open + one read + one close
// into a reused buffer, synchronously: these are small in-kernel files, and a thread-pool round
// trip per file would cost more than the read itself.
import { closeSync, openSync, readSync } from 'node:fs';
import type { SandboxStats } from './runtime.js';

const cgroupRoot = '/sys/fs/cgroup';
// memory.stat is about 1.5 KiB; the rest are one number.
const buffer = Buffer.allocUnsafe(16 * 1024);

function readText(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.toString('latin1', 0, n);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The value of `key` in a `key value` per line file such as memory.stat. */
function statValue(text: string, key: string): number {
  const at = text.indexOf(`\n${key} `);
  if (at < 0) return 0;
  const start = at + key.length + 2;
  const end = text.indexOf('\n', start);
  return Number(text.slice(start, end < 0 ? undefined : end));
}

export function readCgroupStats(id: string): SandboxStats | undefined {
  const dir = (controller: string) => `${cgroupRoot}/${controller}/sandcastle/${id}`;
  const cpu = readText(`${dir('cpuacct')}/cpuacct.usage`);
  const usage = readText(`${dir('memory')}/memory.usage_in_bytes`);
  const limit = readText(`${dir('memory')}/memory.limit_in_bytes`);
  const stat = readText(`${dir('memory')}/memory.stat`);
  if (cpu === undefined || usage === undefined || limit === undefined || stat === undefined) return undefined;
  const pids = readText(`${dir('pids')}/pids.current`);
  // The leading newline lets statValue find the first key too.
  const memStat = `\n${stat}`;
  return {
    cpuUsageNs: Number(cpu),
    // What the kernel could not reclaim without swapping: usage less the inactive page cache
    // (the "working set" most tools report).
    memoryUsedBytes: Math.max(0, Number(usage) - statValue(memStat, 'total_inactive_file')),
    memoryLimitBytes: Number(limit),
    memoryCacheBytes: statValue(memStat, 'total_cache'),
    pids: pids === undefined ? 0 : Number(pids),
  };
}
