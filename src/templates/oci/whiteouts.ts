// OCI layers mark deletions with files: `.wh.<name>` hides <name> of the layers below, and
// `.wh..wh..opq` in a folder hides everything below it in that folder. overlayfs reads other
// marks: a character device 0:0 named <name>, and the xattr trusted.overlay.opaque=y on the
// folder. This converts an unpacked layer from the first to the second.
import { lstat, rm } from 'node:fs/promises';
import path from 'node:path';
import { runTool } from './run-tool.js';

const PREFIX = '.wh.';
const OPAQUE = '.wh..wh..opq';
/** `.wh..wh.` names other than the opaque mark are aufs bookkeeping (`.wh..wh.plnk`, …). */
const META_PREFIX = '.wh..wh.';

export interface WhiteoutPlan {
  /** Marker files (or aufs folders) to delete. */
  remove: string[];
  /** Paths that become overlay whiteouts. */
  whiteouts: string[];
  /** Folders that become opaque. */
  opaqueDirs: string[];
}

/** What to do for the `.wh.*` entries found in a layer (paths relative to its root). */
export function planWhiteouts(found: readonly string[]): WhiteoutPlan {
  const plan: WhiteoutPlan = { remove: [], whiteouts: [], opaqueDirs: [] };
  for (const entry of found) {
    const dir = path.posix.dirname(entry);
    const name = path.posix.basename(entry);
    if (!name.startsWith(PREFIX)) continue;
    plan.remove.push(entry);
    if (name === OPAQUE) plan.opaqueDirs.push(dir);
    else if (!name.startsWith(META_PREFIX)) {
      const target = name.slice(PREFIX.length);
      if (target !== '' && target !== '.' && target !== '..') plan.whiteouts.push(path.posix.join(dir, target));
    }
  }
  return plan;
}

/** Paths (relative to `root`) of every `.wh.*` entry of an unpacked layer; a matching folder is
 *  not descended into (it is aufs bookkeeping and goes as a whole). */
export async function findWhiteouts(root: string, signal?: AbortSignal): Promise<string[]> {
  const out = await runTool('find', [root, '-mindepth', '1', '-name', `${PREFIX}*`, '-prune', '-printf', '%P\\0'], { signal });
  return out.toString().split('\0').filter(Boolean);
}

/** Most paths handed to one mknod/setfattr run, well below the kernel's argument size limit. */
const BATCH = 500;

function batches<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(items.slice(i, i + BATCH));
  return out;
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

export async function applyWhiteouts(root: string, plan: WhiteoutPlan, signal?: AbortSignal): Promise<void> {
  for (const entry of plan.remove) await rm(path.join(root, entry), { recursive: true, force: true });
  // A whiteout hides only lower layers: a file of the same name in this layer stays (OCI spec).
  const devices: string[] = [];
  for (const w of plan.whiteouts) {
    const p = path.join(root, w);
    if (!(await exists(p))) devices.push(p);
  }
  for (const batch of batches(devices)) {
    await runTool('sh', ['-euc', 'for p do mknod -m 000 "$p" c 0 0; done', 'sh', ...batch], { signal });
  }
  for (const batch of batches(plan.opaqueDirs.map((d) => path.join(root, d)))) {
    await runTool('setfattr', ['-h', '-n', 'trusted.overlay.opaque', '-v', 'y', '--', ...batch], { signal });
  }
}

/** Finds and converts every OCI whiteout of the unpacked layer at `root`; resolves to how many. */
export async function convertWhiteouts(root: string, signal?: AbortSignal): Promise<number> {
  const plan = planWhiteouts(await findWhiteouts(root, signal));
  await applyWhiteouts(root, plan, signal);
  return plan.remove.length;
}
