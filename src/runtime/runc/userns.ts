// What the host prepares for sandboxes that run in a user namespace (config `userns`): root inside
// is the mapping's base uid outside, with no privilege over anything the host's root owns.
import { chmod, chown, lstat, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { IdMapping } from '../id-mapping.js';
import { runCommand } from '../run-command.js';
import { setNetnsSysctls } from '../network/netns-sysctl.js';

const FUSE_MAJOR = 10;
const FUSE_MINOR = 229;

/**
 * A /dev/fuse node owned by the sandboxes' root, mode 0666 (as udev makes the host's): the host's
 * own node may be root's only (0600), and root inside is not the host's root. Made once in the
 * data directory and bind-mounted into every sandbox.
 */
export async function ensureFuseDevice(file: string, mapping: IdMapping): Promise<string> {
  const info = await lstat(file).catch(() => undefined);
  const rdev = FUSE_MAJOR * 256 + FUSE_MINOR;
  if (info?.isCharacterDevice() && info.rdev === rdev && info.uid === mapping.base && info.gid === mapping.base && (info.mode & 0o777) === 0o666) return file;
  await mkdir(path.dirname(file), { recursive: true });
  const partial = `${file}.${randomBytes(4).toString('hex')}`;
  try {
    await runCommand('mknod', ['-m', '666', partial, 'c', String(FUSE_MAJOR), String(FUSE_MINOR)]);
    await runCommand('chown', [`${mapping.base}:${mapping.base}`, partial]);
    await rename(partial, file);
  } catch (err) {
    await rm(partial, { force: true });
    throw new Error(`cannot make the /dev/fuse node for sandboxes at ${file} (its file system must allow device nodes): ${(err as Error).message}`, { cause: err });
  }
  return file;
}

/**
 * The sandbox's network namespace belongs to the host's user namespace (it is made before the
 * sandbox, and a restore moves sandboxes between them), so root inside holds no network
 * capability there. Low ports and ping are opened to every id inside instead, which is what
 * root inside had: binding ports below 1024, and ICMP echo sockets.
 */
export async function openNetworkToNamespacedRoot(netnsPath: string): Promise<void> {
  await setNetnsSysctls(netnsPath, {
    'net.ipv4.ip_unprivileged_port_start': '0',
    'net.ipv4.ping_group_range': '0 2147483647',
  });
}

/**
 * Lets the sandboxes' root (the mapping's base uid) through a folder of the server's: runc sets up
 * a sandbox's root file system from inside its user namespace, and CRIU's restored tasks open
 * their image files the same way. The folder's group becomes the base gid with search permission
 * (no listing); other host users gain nothing.
 */
export async function letNamespacedRootThrough(dir: string, mapping: IdMapping): Promise<void> {
  const { mode, uid, gid } = await stat(dir);
  const through = (mode & 0o001) !== 0 || (uid === mapping.base && (mode & 0o100) !== 0) || (gid === mapping.base && (mode & 0o010) !== 0);
  if (through) return;
  await chown(dir, uid, mapping.base);
  await chmod(dir, (mode & 0o7777) | 0o110);
}

/** Throws, saying what to change, when a folder above the data directory keeps the sandboxes'
 *  root out (the server changes only folders of its own). */
export async function checkPathToDataDir(dataDir: string, mapping: IdMapping): Promise<void> {
  for (let dir = path.dirname(path.resolve(dataDir)); ; dir = path.dirname(dir)) {
    const { mode, uid, gid } = await stat(dir);
    const through = (mode & 0o001) !== 0 || (uid === mapping.base && (mode & 0o100) !== 0) || (gid === mapping.base && (mode & 0o010) !== 0);
    if (!through) {
      throw new Error(`the folder ${dir} above the data directory does not let the sandboxes' root (host uid ${mapping.base}) through: allow others to search it (chmod o+x ${dir}) or put the data directory elsewhere`);
    }
    if (dir === path.dirname(dir)) return;
  }
}
