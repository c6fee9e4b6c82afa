// Freezing and thawing a sandbox's cgroup by writing its freezer file, as `runc pause|resume` do,
// without starting runc (a few milliseconds of a warm resume, whose target is 15 ms). runc reads a
// container's paused state from the same file, so it sees what was done here. The files are read
// and written synchronously: cgroupfs answers from memory, and a trip through libuv's thread pool
// per call costs more than the call (a resume's server time went from 3.3 to 2.9 ms here).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type CgroupLayout, sandboxCgroupDir } from './cgroup-layout.js';

const settleTimeoutMs = 5_000;

/** How long a freeze may stay incomplete. A task in uninterruptible sleep (a page fault, a write
 *  waiting on a disk busy with another sandbox's checkpoint) freezes only once it wakes: `runc
 *  pause` gives up after about 0.2 s ("unable to freeze"), which failed warm pauses on a loaded
 *  machine. */
const freezeTimeoutMs = 10_000;

/** The file that freezes a cgroup folder and what it holds frozen and thawed (v1 may also read
 *  FREEZING; v2 reports completion in cgroup.events). */
function freezer(dir: string, v2: boolean): { file: string; frozen: string; thawed: string } {
  return v2 ? { file: path.join(dir, 'cgroup.freeze'), frozen: '1', thawed: '0' } : { file: path.join(dir, 'freezer.state'), frozen: 'FROZEN', thawed: 'THAWED' };
}

/** Thaws the cgroup folder `dir` (either version) unless it is thawed or has no freezer file:
 *  a kill waits in a frozen task until then. A freeze cut short (v1 FREEZING) is thawed too. */
export function thawIfFrozen(dir: string): void {
  for (const f of [freezer(dir, false), freezer(dir, true)]) {
    let state: string;
    try {
      state = readFileSync(f.file, 'utf8').trim();
    } catch {
      continue;
    }
    if (state !== f.thawed) writeFileSync(f.file, f.thawed);
  }
}

/** Freezes sandbox `id`'s cgroup and resolves once the kernel says every task is frozen; past
 *  the deadline thaws it again and rejects, saying so. */
export async function freezeCgroup(layout: CgroupLayout, id: string, timeoutMs = freezeTimeoutMs): Promise<void> {
  const v2 = layout.version === 'v2';
  const dir = sandboxCgroupDir(layout, id, 'freezer');
  const f = freezer(dir, v2);
  // Tasks forked or moved in meanwhile are frozen by the kernel as they come (v1 and v2 alike).
  writeFileSync(f.file, f.frozen);
  const frozen = () => (v2 ? /^frozen 1$/m.test(readFileSync(path.join(dir, 'cgroup.events'), 'utf8')) : readFileSync(f.file, 'utf8').trim() === f.frozen);
  const deadline = Date.now() + timeoutMs;
  while (!frozen()) {
    if (Date.now() > deadline) {
      writeFileSync(f.file, f.thawed);
      throw new Error(`sandbox ${id}'s cgroup (${dir}) did not freeze within ${timeoutMs} ms (a task stuck in uninterruptible sleep?); it was thawed again`);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Thaws sandbox `id`'s cgroup and resolves once the kernel says it is thawed; rejects, as
 *  `runc resume` does, when it is not frozen. */
export async function thawCgroup(layout: CgroupLayout, id: string): Promise<void> {
  const v2 = layout.version === 'v2';
  const dir = sandboxCgroupDir(layout, id, 'freezer');
  const f = freezer(dir, v2);
  if (readFileSync(f.file, 'utf8').trim() === f.thawed) throw new Error(`sandbox ${id} is not frozen (${dir}): there is nothing to thaw`);
  writeFileSync(f.file, f.thawed);
  // v1 may pass through THAWING; v2 reports `frozen 0` in cgroup.events once every task runs.
  const thawed = () => (v2 ? /^frozen 0$/m.test(readFileSync(path.join(dir, 'cgroup.events'), 'utf8')) : readFileSync(f.file, 'utf8').trim() === f.thawed);
  const deadline = Date.now() + settleTimeoutMs;
  while (!thawed()) {
    if (Date.now() > deadline) throw new Error(`sandbox ${id}'s cgroup (${dir}) did not thaw within ${settleTimeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
