// The layer cache's pruning rule (README "Templates"): a layer folder goes when nothing uses it —
// no template, ready build, sandbox or snapshot lists it — and no build has used it for the
// configured number of days (its modification time: set when it is made, renewed by every build
// that takes it from the cache). Cache entries (`step-<key>` links) whose layer is gone go too.
// Unpacks in flight (`.partial-*`) are their owners' business.
import { lstat, readdir, readlink, rm, utimes } from 'node:fs/promises';
import path from 'node:path';

export interface PruneReport {
  removed: string[];
  keptInUse: number;
  keptRecent: number;
}

export async function pruneLayers(layersDir: string, inUse: ReadonlySet<string>, maxAgeMs: number, now = Date.now()): Promise<PruneReport> {
  const report: PruneReport = { removed: [], keptInUse: 0, keptRecent: 0 };
  const names = await readdir(layersDir).catch(() => [] as string[]);
  const links: string[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const full = path.join(layersDir, name);
    const info = await lstat(full).catch(() => undefined);
    if (!info) continue;
    if (info.isSymbolicLink()) {
      links.push(name);
      continue;
    }
    if (!info.isDirectory()) continue;
    if (inUse.has(full)) report.keptInUse++;
    else if (now - info.mtimeMs < maxAgeMs) report.keptRecent++;
    else {
      await rm(full, { recursive: true, force: true });
      report.removed.push(name);
    }
  }
  for (const name of links) {
    const full = path.join(layersDir, name);
    const target = await readlink(full).catch(() => '');
    const exists = target !== '' && (await lstat(path.resolve(layersDir, target)).then(() => true, () => false));
    if (!exists) await rm(full, { force: true });
  }
  return report;
}

/** Marks layers as used now, so pruning keeps them for another full period. */
export async function touchLayers(layers: readonly string[], now = new Date()): Promise<void> {
  await Promise.all(layers.map((l) => utimes(l, now, now).catch(() => undefined)));
}
