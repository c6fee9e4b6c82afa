// What the runc backend keeps in a checkpoint folder: `image/` (CRIU's image of the processes),
// `upper/` (the writable layer, for a saved state a new sandbox starts from), `work/` (CRIU's
// logs) and `complete`, written last, once the rest is synced to disk, so a restart (after a
// crash or a power loss) can tell a whole checkpoint from one cut short. A transient one (a
// clone's image, which no crash keeps) is marked without the sync.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type FileHandle, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CheckpointRef } from '../runtime.js';
import { runCommand } from '../run-command.js';

export const checkpointImage = (dir: string) => path.join(dir, 'image');
export const checkpointUpper = (dir: string) => path.join(dir, 'upper');
export const checkpointWork = (dir: string) => path.join(dir, 'work');

const completeMarker = (dir: string) => path.join(dir, 'complete');

/**
 * Puts the checkpoint on disk, then marks it whole: once this returns, a power loss can take
 * neither the checkpoint nor the files it goes with, so a pause answered is a pause kept (and no
 * marker stands beside a torn image). The image and the checkpoint's own writable layer (`upper/`
 * of a snapshot or a clone's source) are synced file by file: a sync of the data folder's whole
 * file system would also wait for every other sandbox's writes. `sandboxDisk` is the writable
 * layer a pause keeps in place, on the sandbox's own disk: that file system is synced whole.
 */
export async function markCheckpointWhole(dir: string, sandboxDisk?: string): Promise<void> {
  const upper = checkpointUpper(dir);
  await Promise.all([
    syncFolder(checkpointImage(dir)),
    existsSync(upper) ? syncFolder(upper) : undefined,
    sandboxDisk ? runCommand('sync', ['--file-system', sandboxDisk]) : undefined,
  ]);
  await writeFile(completeMarker(dir), '');
  await syncEntries(dir);
}

/** How a checkpoint is written and marked whole. */
export interface CheckpointDurability {
  /** Runs `dump`, CRIU writing the image of checkpoint `dir`. */
  writing<T>(dir: string, dump: () => Promise<T>): Promise<T>;
  /** Marks `dir` whole (`sandboxDisk` as markCheckpointWhole takes it). */
  markWhole(dir: string, sandboxDisk?: string): Promise<void>;
}

/** A checkpoint that outlives a crash: its pages are flushed while the dump writes them, and it is
 *  marked whole once synced. */
export const durableCheckpoint: CheckpointDurability = { writing: (dir, dump) => flushingImage(dir, dump), markWhole: markCheckpointWhole };

/** One that need not (the server removes it after a crash): neither flushed nor synced, so a power
 *  loss may leave its marker beside a torn image. */
export const transientCheckpoint: CheckpointDurability = { writing: (_dir, dump) => dump(), markWhole: (dir) => writeFile(completeMarker(dir), '') };

/** A clone's image lives only while its call does, and recovery removes it after a crash
 *  (sandboxes/recovery.ts), so it is transient: the dump (the source frozen meanwhile) does not
 *  also write the pages out, and the clones start without waiting for a sync. Pauses, snapshots
 *  and boot states are durable. */
export function durabilityOf(ref: CheckpointRef): CheckpointDurability {
  return ref.kind === 'clone' ? transientCheckpoint : durableCheckpoint;
}

/** How often the pages of an image being written are flushed (flushingImage). */
const flushEveryMs = 5;

/**
 * Runs `dump` (CRIU writing the image of checkpoint `dir`) while flushing the image's pages files
 * to disk every few milliseconds. On a VM's disk a sync costs the flush (the host writing out what
 * it cached: ~65 ms per 100 MB here, against ~15 ms to hand the pages over), so flushing the pages
 * as they come overlaps that with the rest of the dump, and markCheckpointWhole's sync finds
 * little left: a 100 MiB pause took ~20% less here (every 1-25 ms: the same within noise).
 * `flush` is the fdatasync (a test counts).
 */
export async function flushingImage<T>(dir: string, dump: () => Promise<T>, flush = (file: FileHandle) => file.datasync()): Promise<T> {
  let dumping = true;
  const flusher = flushPagesUntil(checkpointImage(dir), () => dumping, flush);
  try {
    return await dump();
  } finally {
    dumping = false;
    await flusher;
  }
}

async function flushPagesUntil(image: string, dumping: () => boolean, flush: (file: FileHandle) => Promise<void>): Promise<void> {
  const files = new Map<string, FileHandle>();
  try {
    while (dumping()) {
      for (const name of await readdir(image).catch(() => [])) {
        if (/^pages-\d+\.img$/.test(name) && !files.has(name)) files.set(name, await open(path.join(image, name), 'r'));
      }
      await Promise.all([...files.values()].map(flush));
      await sleep(flushEveryMs);
    }
  } catch {
    // Only a head start: the sync before the checkpoint is marked whole reports what fails.
  } finally {
    await Promise.all([...files.values()].map((f) => f.close()));
  }
}

/** Makes the names in `dir` (new files, renames) and `dir`'s own name durable. */
export async function syncEntries(dir: string): Promise<void> {
  await Promise.all([syncOne(dir), syncOne(path.dirname(dir))]);
}

export function isCheckpointWhole(dir: string): boolean {
  return existsSync(completeMarker(dir));
}

/** Files synced at once by syncFolder: the thread pool kept busy, without a descriptor open for
 *  every file of a large layer. */
const syncConcurrency = 16;

/** fsync of every file and folder under `dir`, and of `dir`. */
export async function syncFolder(dir: string): Promise<void> {
  const entries = await filesAndFolders(dir);
  let next = 0;
  const worker = async () => {
    while (next < entries.length) await syncOne(entries[next++]!);
  };
  await Promise.all(Array.from({ length: syncConcurrency }, worker));
}

/** The regular files and folders under `dir`, each folder after what it holds. */
async function filesAndFolders(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const entry = path.join(dir, e.name);
    if (e.isDirectory()) found.push(...(await filesAndFolders(entry)));
    else if (e.isFile()) found.push(entry);
  }
  found.push(dir);
  return found;
}

async function syncOne(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Puts the whole checkpoint `next` in the place of `dir`. A crash between the two renames leaves
 *  `next` whole and `dir` missing, which finishStopCheckpoint completes. */
export async function replaceCheckpoint(dir: string, next: string): Promise<void> {
  const old = `${dir}.old-${randomBytes(4).toString('hex')}`;
  await rename(dir, old).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  await rename(next, dir);
  await syncEntries(dir);
  await rm(old, { recursive: true, force: true });
}
