// Deleting a container as `runc delete --force` does, from the state runc wrote, without starting
// runc: each runc costs ~50 ms of CPU here (a Go start and a read of the mount table), the largest
// share of a kill when hundreds go at once (issue 9: killing 300 within 10 s). The steps are
// runc's: kill every process of the container, thaw a frozen one so the kill lands, remove its
// cgroups once empty, then its state folder.
import { readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { thawIfFrozen } from './cgroup-freezer.js';

/** The fields of runc's `state.json` a delete needs. */
interface RuncStateFile {
  init_process_pid: number;
  /** Start time of the init process (field 22 of /proc/<pid>/stat), so a reused pid is left alone. */
  init_process_start: number;
  /** Controller → cgroup folder; `""` is the unified (v2) one. */
  cgroup_paths: Record<string, string>;
}

const emptyTimeoutMs = 10_000;

function readRuncState(stateDir: string): RuncStateFile {
  return JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as RuncStateFile;
}

/** The start time of process `pid`, undefined when there is none. */
export function processStart(pid: number, procRoot = '/proc'): number | undefined {
  try {
    const stat = readFileSync(path.join(procRoot, String(pid), 'stat'), 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its end.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function signal(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Removes a cgroup folder, sub-cgroups first; false while tasks are still leaving it. */
function removeCgroup(dir: string): boolean {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  const childrenGone = entries.filter((e) => e.isDirectory()).every((e) => removeCgroup(path.join(dir, e.name)));
  if (!childrenGone) return false;
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code === 'EBUSY' || code === 'ENOTEMPTY') return false;
    throw err;
  }
}

/**
 * Kills every process of the container whose runc state is in `stateDir`, removes its cgroups
 * and the state folder. The init process is killed only if it is the one runc started (its
 * start time matches); with the container's pid namespace, its death ends the rest, and every
 * task still listed in a cgroup is killed as well.
 */
export async function deleteContainer(stateDir: string, timeoutMs = emptyTimeoutMs, procRoot = '/proc'): Promise<void> {
  const state = readRuncState(stateDir);
  if (processStart(state.init_process_pid, procRoot) === state.init_process_start) signal(state.init_process_pid);
  await removeCgroups(Object.values(state.cgroup_paths), `container ${path.basename(stateDir)}`, timeoutMs);
  await rm(stateDir, { recursive: true, force: true });
}

/**
 * Kills every task of the cgroup folders `dirs` (those that exist) and removes them once empty,
 * sub-cgroups first; throws naming `owner` and the folders still busy after `timeoutMs`.
 */
export async function removeCgroups(dirs: string[], owner: string, timeoutMs = emptyTimeoutMs): Promise<void> {
  const unique = [...new Set(dirs)];
  for (const dir of unique) {
    for (const pid of (readIfPresent(path.join(dir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean)) signal(Number(pid));
  }
  // A kill waits in a frozen task until it is thawed (runc delete thaws too).
  unique.forEach(thawIfFrozen);
  const deadline = Date.now() + timeoutMs;
  let left = unique;
  while ((left = left.filter((dir) => !removeCgroup(dir))).length > 0) {
    if (Date.now() > deadline) {
      throw new Error(`${owner}: its cgroups still had tasks ${timeoutMs} ms after they were killed (${left.join(', ')})`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}
