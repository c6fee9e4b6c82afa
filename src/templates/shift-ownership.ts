// Gives a layer made on the host the owners a user-namespaced sandbox needs: every id below the
// mapping's size becomes base + id (root's files become the sandbox root's). Done once per layer,
// when it is made; a create copies and changes nothing.
//
// chown has side effects that a shift must undo: it clears the set-user-ID and set-group-ID bits
// of files (sudo would stop working) and removes their file capabilities. Modes are put back after
// each chown; capabilities are saved with getfattr before the walk and restored after it.
// Overlay whiteouts (character devices 0:0) and opaque marks (trusted.overlay.* xattrs) keep
// working: overlayfs reads neither their owner nor anything chown changes.
import { randomBytes } from 'node:crypto';
import { chmod, lchown, lstat, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { hostId, type IdMapping } from '../runtime/id-mapping.js';
import { runCommand } from '../runtime/run-command.js';

/** Entries changed at once: enough to keep the disk and the thread pool busy. */
const concurrency = 32;

export interface ShiftReport {
  /** Entries whose owner changed. */
  changed: number;
  /** Entries looked at. */
  seen: number;
}

/** Shifts every owner under `root` (itself included). Ids already in the mapped range are left,
 *  so a hard link seen twice, or a tree shifted halfway, is shifted right. */
export async function shiftOwnership(root: string, mapping: IdMapping): Promise<ShiftReport> {
  const capabilities = await savedCapabilities(root);
  const report: ShiftReport = { changed: 0, seen: 0 };
  const queue: string[] = [root];
  let active = 0;
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const pump = () => {
      if (failed) return;
      if (queue.length === 0 && active === 0) return resolve();
      while (queue.length > 0 && active < concurrency) {
        const entry = queue.pop()!;
        active++;
        shiftOne(entry, mapping, report, queue).then(() => {
          active--;
          pump();
        }, (err: unknown) => {
          failed = true;
          reject(err);
        });
      }
    };
    pump();
  });
  if (capabilities) await restoreCapabilities(capabilities);
  return report;
}

async function shiftOne(entry: string, mapping: IdMapping, report: ShiftReport, queue: string[]): Promise<void> {
  const info = await lstat(entry);
  report.seen++;
  const uid = hostId(info.uid, mapping);
  const gid = hostId(info.gid, mapping);
  if (uid !== info.uid || gid !== info.gid) {
    await lchown(entry, uid, gid);
    report.changed++;
    // Directories keep their set-group-ID bit through chown; files and devices do not.
    if ((info.mode & 0o6000) !== 0 && !info.isDirectory() && !info.isSymbolicLink()) await chmod(entry, info.mode & 0o7777);
  }
  if (info.isDirectory()) for (const name of await readdir(entry)) queue.push(path.join(entry, name));
}

/** getfattr's dump of every security.capability under `root` (a file for setfattr --restore), or
 *  undefined when there are none. */
async function savedCapabilities(root: string): Promise<string | undefined> {
  // -P -h: never follow a symbolic link, out of the layer or at all.
  const dump = await runCommand('getfattr', ['--absolute-names', '-R', '-P', '-h', '-d', '-e', 'hex', '-m', '^security\\.capability$', root]).catch((err: Error) => {
    throw new Error(`reading the file capabilities under ${root} failed: ${err.message}`, { cause: err });
  });
  if (!dump.includes('security.capability=')) return undefined;
  const file = path.join(os.tmpdir(), `sandcastle-caps-${randomBytes(6).toString('hex')}`);
  await writeFile(file, dump, { mode: 0o600 });
  return file;
}

async function restoreCapabilities(file: string): Promise<void> {
  try {
    await runCommand('setfattr', ['-h', `--restore=${file}`]);
  } catch (err) {
    throw new Error(`restoring file capabilities after shifting owners failed: ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(file, { force: true });
  }
}
