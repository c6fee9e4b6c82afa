// Thawing a sandbox's cgroup by writing its freezer file, as `runc resume` does, without starting
// runc (a few milliseconds of a warm resume, whose target is 15 ms). runc reads a container's
// paused state from the same file, so it sees the thaw.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type CgroupLayout, sandboxCgroupDir } from './cgroup-layout.js';

const settleTimeoutMs = 5_000;

/** Thaws sandbox `id`'s cgroup and resolves once the kernel says it is thawed; rejects, as
 *  `runc resume` does, when it is not frozen. */
export async function thawCgroup(layout: CgroupLayout, id: string): Promise<void> {
  const v2 = layout.version === 'v2';
  const dir = sandboxCgroupDir(layout, id, 'freezer');
  const frozen = v2 ? (await readFile(path.join(dir, 'cgroup.freeze'), 'utf8')).trim() === '1' : (await readFile(path.join(dir, 'freezer.state'), 'utf8')).trim() !== 'THAWED';
  if (!frozen) throw new Error(`sandbox ${id} is not frozen (${dir}): there is nothing to thaw`);
  await writeFile(path.join(dir, v2 ? 'cgroup.freeze' : 'freezer.state'), v2 ? '0' : 'THAWED');
  // v1 may pass through THAWING; v2 reports `frozen 0` in cgroup.events once every task runs.
  const thawed = async () => (v2 ? /^frozen 0$/m.test(await readFile(path.join(dir, 'cgroup.events'), 'utf8')) : (await readFile(path.join(dir, 'freezer.state'), 'utf8')).trim() === 'THAWED');
  const deadline = Date.now() + settleTimeoutMs;
  while (!(await thawed())) {
    if (Date.now() > deadline) throw new Error(`sandbox ${id}'s cgroup (${dir}) did not thaw within ${settleTimeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
