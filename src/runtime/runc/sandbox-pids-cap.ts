// A pids limit on every sandbox together, on the cgroup folder that holds them. Process and thread
// ids are one pool for the whole host (kernel.pid_max, and kernel.threads-max, which the kernel
// sizes from memory: 192735 here), and a sandbox's own limit (SANDCASTLE_PIDS_LIMIT, 4096) times
// a few dozen sandboxes takes it all: then no process on the host can fork, the server's runc and
// CRIU included. Capped together, the sandboxes leave the host its share whatever they run.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type CgroupLayout, sandboxesCgroupDir } from './cgroup-layout.js';

/** Process ids kept for the host's own processes (the server, runc, CRIU, tools, the system). */
const hostPidsReserve = 8192;
/** The least the sandboxes together get, even on a host with few ids. */
const leastSandboxPids = 1024;

/** The pids limit of every sandbox together on a host of `pidMax` ids and `threadsMax` tasks. */
export function sandboxPidsCap(pidMax: number, threadsMax: number): number {
  return Math.max(leastSandboxPids, Math.min(pidMax, threadsMax) - hostPidsReserve);
}

/** Sets the pids limit of every sandbox together (sandboxPidsCap of the host's kernel limits,
 *  read from `procSys`) on the sandboxes' parent cgroup, made if missing; says what it set. */
export function capSandboxPids(layout: CgroupLayout, procSys = '/proc/sys'): string {
  const read = (name: string) => Number(readFileSync(path.join(procSys, 'kernel', name), 'utf8').trim());
  const cap = sandboxPidsCap(read('pid_max'), read('threads-max'));
  if (layout.version === 'v2') {
    // A v2 folder has a pids.max only when its parent hands it the pids controller.
    const control = path.join(layout.root, 'cgroup.subtree_control');
    if (!readFileSync(control, 'utf8').split(/\s+/).includes('pids')) writeFileSync(control, '+pids');
  }
  const dir = sandboxesCgroupDir(layout, 'pids');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'pids.max'), String(cap));
  return `every sandbox together limited to ${cap} processes and threads (${path.join(dir, 'pids.max')}), the host keeping the rest`;
}
