// Turning a sandbox's writable layer into a template's layer (Runtime.commit): what runc left in
// it for the container's own mounts goes, and the folder moves to where the template keeps it.
import { randomBytes } from 'node:crypto';
import { lstat, readdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../run-command.js';

/** Renames `from` to `to`, or where they are on different file systems (a layer leaving its
 *  sandbox's disk) copies it with owners, modes, xattrs and whiteouts, then removes `from`. */
export async function moveFolder(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    const partial = `${to}.partial-${randomBytes(4).toString('hex')}`;
    try {
      await runCommand('cp', ['-a', '--reflink=auto', from, partial]);
      await rename(partial, to);
    } catch (copyErr) {
      await rm(partial, { recursive: true, force: true });
      throw copyErr;
    }
    await rm(from, { recursive: true, force: true });
  }
}

/** Removes from a writable layer the mount points runc made for the container's own mounts (an
 *  empty file or folder where the layers below had none), and the folders made for them. */
export async function dropMountPoints(upper: string, destinations: string[]): Promise<void> {
  for (const destination of destinations) {
    let at = path.join(upper, destination);
    while (at.startsWith(upper + path.sep)) {
      const info = await lstat(at).catch(() => undefined);
      if (!info) break;
      const empty = info.isDirectory() ? (await readdir(at)).length === 0 : info.isFile() && info.size === 0;
      if (!empty) break;
      await (info.isDirectory() ? rmdir(at) : rm(at));
      at = path.dirname(at);
    }
  }
}
