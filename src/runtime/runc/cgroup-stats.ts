// Reads a sandbox's usage from its cgroup, in the host's layout (cgroup-layout.ts): v1 files in
// each controller's folder, or v2 files in the one unified folder.
// Sampled every 2 s for every running sandbox, so each file is one open + one read + one close
// into a reused buffer, synchronously: these are small in-kernel files, and a thread-pool round
// trip per file would cost more than the read itself.
import { closeSync, openSync, readSync } from 'node:fs';
import { totalmem } from 'node:os';
import { type CgroupLayout, hostCgroupLayout, sandboxCgroupDir } from './cgroup-layout.js';
import type { SandboxStats } from '../runtime.js';

// memory.stat is about 1.5 KiB; the rest are one number or a few lines.
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
  let at = 0;
  if (!text.startsWith(`${key} `)) {
    at = text.indexOf(`\n${key} `) + 1;
    if (at === 0) return 0;
  }
  const start = at + key.length + 1;
  const end = text.indexOf('\n', start);
  return Number(text.slice(start, end < 0 ? undefined : end));
}

function readV1(layout: CgroupLayout, id: string): SandboxStats | undefined {
  const memory = sandboxCgroupDir(layout, id, 'memory');
  const cpu = readText(`${sandboxCgroupDir(layout, id, 'cpuacct')}/cpuacct.usage`);
  const usage = readText(`${memory}/memory.usage_in_bytes`);
  const limit = readText(`${memory}/memory.limit_in_bytes`);
  const stat = readText(`${memory}/memory.stat`);
  if (cpu === undefined || usage === undefined || limit === undefined || stat === undefined) return undefined;
  const pids = readText(`${sandboxCgroupDir(layout, id, 'pids')}/pids.current`);
  return {
    cpuUsageNs: Number(cpu),
    // What the kernel could not reclaim without swapping: usage less the inactive page cache
    // (the "working set" most tools report). total_* counts the cgroup and its descendants.
    memoryUsedBytes: Math.max(0, Number(usage) - statValue(stat, 'total_inactive_file')),
    memoryLimitBytes: Number(limit),
    memoryCacheBytes: statValue(stat, 'total_cache'),
    pids: pids === undefined ? 0 : Number(pids),
  };
}

function readV2(layout: CgroupLayout, id: string): SandboxStats | undefined {
  const dir = sandboxCgroupDir(layout, id);
  const cpu = readText(`${dir}/cpu.stat`);
  const current = readText(`${dir}/memory.current`);
  const max = readText(`${dir}/memory.max`);
  const stat = readText(`${dir}/memory.stat`);
  if (cpu === undefined || current === undefined || max === undefined || stat === undefined) return undefined;
  const pids = readText(`${dir}/pids.current`);
  return {
    cpuUsageNs: statValue(cpu, 'usage_usec') * 1000,
    // As on v1; v2's memory.stat already counts the cgroup and its descendants.
    memoryUsedBytes: Math.max(0, Number(current) - statValue(stat, 'inactive_file')),
    // "max" (no limit): the sandbox can use at most the host's memory, which is also the figure
    // a client can chart against (v1 reports a near-2^63 number instead; sandboxes always get a
    // limit, so this shows only for a cgroup whose limit was removed by hand).
    memoryLimitBytes: max.trim() === 'max' ? totalmem() : Number(max),
    memoryCacheBytes: statValue(stat, 'file'),
    pids: pids === undefined ? 0 : Number(pids),
  };
}

/** The sandbox's usage now, or undefined when it has no cgroup (not running). */
export function readCgroupStats(id: string, layout: CgroupLayout = hostCgroupLayout()): SandboxStats | undefined {
  return layout.version === 'v2' ? readV2(layout, id) : readV1(layout, id);
}
