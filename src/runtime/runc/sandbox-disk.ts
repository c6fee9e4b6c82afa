// Each sandbox's disk: its writable layer (overlay upper and work folders) on an ext4 file system
// of its own, the size of its template's `diskSizeMB`, in a sparse file of its bundle, loop-mounted
// at `<bundle>/disk`. Writing past it is ENOSPC inside the sandbox, `df /` there shows its size,
// and its use is one statfs: no walk of the tree.
//
// Why not project quotas on one shared file system (the usual way): they need a kernel built with
// CONFIG_XFS_QUOTA (XFS) or CONFIG_QFMT_V2 (ext4), and VM kernels often lack both (this project's
// reference host does); a loop device and ext4 are in every kernel. A file system per sandbox also
// makes `df` exact and the error ENOSPC (ext4 project quotas answer EDQUOT). The cost: one mkfs and
// one mount per sandbox made (tens of ms, paid by the warm pool before a create), one loop device
// per sandbox, and a copy where a layer leaves its disk (a template step's commit).
//
// The file system has no journal (a sandbox's files need not outlive a host crash consistently;
// a disk found unmounted is checked with e2fsck before it is mounted again) and no inode-table
// zeroing (holes of a sparse file read as zeros). It is mounted with `discard`, so what a sandbox
// deletes is given back to the host's disk. The host's disk is overcommitted: when it fills before
// a sandbox's disk does, that sandbox's writes fail with I/O errors (unsynced ones may be lost)
// and its disk may turn read-only; creates are refused below SANDCASTLE_MIN_FREE_DISK_MB first.
import { statfsSync, statSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../run-command.js';
import { mountDisk } from './mount-helper.js';
import { isMountPoint, unmount } from './mounts.js';

/** Where a sandbox's disk lives in its bundle: the image file and its mount point. */
export function diskPaths(bundle: string): { image: string; mount: string } {
  return { image: path.join(bundle, 'disk.ext4'), mount: path.join(bundle, 'disk') };
}

/** mkfs.ext4 arguments for a disk image: 4 KiB blocks whatever the size (mke2fs would pick 1 KiB
 *  for small ones), nothing reserved for root, no journal, no discard of the new (sparse) file.
 *  No blocks reserved for growing it online and no backup superblocks (a sandbox's disk is never
 *  resized and does not outlive a broken file system): mkfs of 20 GiB then writes 156 KiB instead
 *  of 4.4 MiB and takes 5 ms instead of 12 (hyperfine, this machine). */
export function mkfsArgs(image: string): string[] {
  return ['-q', '-F', '-b', '4096', '-m', '0', '-O', '^has_journal,^resize_inode,sparse_super2', '-E', 'lazy_itable_init=1,nodiscard,num_backup_sb=0', image];
}

/** The disk's ext4 options (mountDisk adds noatime). */
const diskMountOptions = 'discard,noinit_itable,errors=remount-ro';

/** Bytes in use on a disk as `df` counts them (the file system's own bookkeeping left out). */
export function usedBytes(st: { blocks: number; bfree: number; bsize: number }): number {
  return (st.blocks - st.bfree) * st.bsize;
}

/** Makes the bundle's disk of `sizeMB` (the image only if missing) and mounts it, unless mounted.
 *  A disk whose image exists but is not mounted (the host restarted) is checked first. */
export async function ensureDisk(bundle: string, sizeMB: number): Promise<string> {
  const { image, mount } = diskPaths(bundle);
  if (await isMountPoint(mount)) return mount;
  await mkdir(mount, { recursive: true });
  const file = await open(image, 'wx').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') return undefined;
    throw err;
  });
  if (file) {
    try {
      await file.truncate(sizeMB * 1024 * 1024);
    } finally {
      await file.close();
    }
    await runCommand('mkfs.ext4', mkfsArgs(image)).catch(async (err: Error) => {
      await rm(image, { force: true });
      throw err;
    });
  } else {
    // -p repairs what is safe to repair; exit 1 means it did. Anything worse fails the mount.
    await runCommand('e2fsck', ['-p', image]).catch((err: Error) => {
      if (!err.message.includes('(exit status 1)')) throw err;
    });
  }
  await mountDisk(image, mount, diskMountOptions);
  return mount;
}

/** Unmounts the bundle's disk (the loop device goes with it: mountDisk sets it to clear itself) and
 *  removes its image. Idempotent. */
export async function removeDisk(bundle: string): Promise<void> {
  const { image, mount } = diskPaths(bundle);
  if (await isMountPoint(mount)) await unmount(mount);
  await rm(image, { force: true });
}

/** Bytes the sandbox's disk holds, or undefined when it has none mounted. The metrics sampler
 *  asks this of every running sandbox every 2 s: three system calls in a row cost less than
 *  three thread-pool round trips, so they are made synchronously. */
export async function diskUsedBytes(bundle: string): Promise<number | undefined> {
  const { mount } = diskPaths(bundle);
  try {
    // A mount has a device of its own (as isMountPoint judges it).
    if (statSync(mount).dev === statSync(path.dirname(mount)).dev) return undefined;
    return usedBytes(statfsSync(mount));
  } catch {
    return undefined;
  }
}

/** Makes, mounts and removes a small disk in `dir`, so a host that cannot (no mkfs.ext4, no loop
 *  devices) is found at start; throws saying what to install or change. */
export async function checkDiskSupport(dir: string): Promise<void> {
  const probe = path.join(dir, '.disk-check');
  try {
    await removeDisk(probe);
    await rm(probe, { recursive: true, force: true });
    await ensureDisk(probe, 16);
  } catch (err) {
    throw new Error(
      `sandbox disks: cannot make and mount a file-backed ext4 disk in ${dir} (${(err as Error).message}). ` +
        'Install e2fsprogs and util-linux (scripts/setup-host.sh), make loop devices available (modprobe loop; ' +
        'a container needs /dev/loop-control and CAP_SYS_ADMIN), or set SANDCASTLE_DISK_QUOTA=0 to run without disk quotas',
      { cause: err },
    );
  } finally {
    await removeDisk(probe).catch(() => undefined);
    await rm(probe, { recursive: true, force: true });
  }
}
