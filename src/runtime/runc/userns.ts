// What the host prepares for sandboxes that run in a user namespace (config `userns`): root inside
// is the mapping's base uid outside, with no privilege over anything the host's root owns.
import { chmod, chown, lstat, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
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

/** Kernel keys a user-namespaced sandbox holds: runc makes it a session keyring of its own. */
const keysPerSandbox = 2;
/** Quota bytes a session keyring takes (its description and payload), with room to spare. */
const bytesPerKey = 100;

/** The per-user key quota (kernel.keys.maxkeys, maxbytes) that `sandboxes` sandboxes need, each
 *  raised only: every sandbox's keyring belongs to the mapping's one host uid, and the kernel's
 *  defaults (200 keys, 20000 bytes) stop the start of about the 170th ("unable to create session
 *  key: disk quota exceeded"). */
export function keyQuotaFor(sandboxes: number, now: { maxkeys: number; maxbytes: number }): { maxkeys: number; maxbytes: number } {
  const maxkeys = Math.max(now.maxkeys, sandboxes * keysPerSandbox + 200);
  return { maxkeys, maxbytes: Math.max(now.maxbytes, maxkeys * bytesPerKey) };
}

/** Pipe buffer pages a sandbox may hold on average (64 pipes of the default 64 KiB): the per-user
 *  soft limit is shared by every sandbox, since all of their roots are the mapping's one host uid.
 *  Pipe buffers are charged to each sandbox's memory cgroup, which is what bounds them. */
const pipePagesPerSandbox = 1024;
/** The kernel's default fs.pipe-user-pages-soft, kept for the host's own users of that uid. */
const defaultPipePages = 16384;

/**
 * The per-user pipe limits (fs.pipe-user-pages-soft, -hard; 0 is none) that `sandboxes` sandboxes
 * need, each raised only. Past the soft limit the kernel gives new pipes one page and refuses to
 * enlarge one (F_SETPIPE_SZ: EPERM) to a user without CAP_SYS_RESOURCE on the host: with the
 * default, CRIU could not restore a pipe's size once about 250 sandboxes were live ("Can't restore
 * pipe size: Operation not permitted"), so creates from boot states and resumes failed.
 */
export function pipeQuotaFor(sandboxes: number, now: { soft: number; hard: number }): { soft: number; hard: number } {
  const need = sandboxes * pipePagesPerSandbox + defaultPipePages;
  const raise = (pages: number) => (pages === 0 ? 0 : Math.max(pages, need));
  return { soft: raise(now.soft), hard: raise(now.hard) };
}

/** Raises the per-user pipe limits for `sandboxes` sandboxes; says what it did, or what to set
 *  when it cannot (a read-only /proc/sys in a container). */
export async function raisePipeQuota(sandboxes: number, dir = '/proc/sys/fs'): Promise<string | undefined> {
  const read = async (name: string) => Number((await readFile(path.join(dir, name), 'utf8')).trim());
  const now = { soft: await read('pipe-user-pages-soft'), hard: await read('pipe-user-pages-hard') };
  const want = pipeQuotaFor(sandboxes, now);
  if (want.soft === now.soft && want.hard === now.hard) return undefined;
  try {
    await writeFile(path.join(dir, 'pipe-user-pages-hard'), String(want.hard));
    await writeFile(path.join(dir, 'pipe-user-pages-soft'), String(want.soft));
  } catch (err) {
    throw new Error(
      `the kernel's per-user pipe limit (fs.pipe-user-pages-soft ${now.soft}, -hard ${now.hard}) would stop sandboxes from being restored long before SANDCASTLE_MAX_SANDBOXES (${sandboxes}), and it cannot be raised here (${(err as Error).message}): ` +
        `sysctl -w fs.pipe-user-pages-soft=${want.soft} fs.pipe-user-pages-hard=${want.hard}, or lower SANDCASTLE_MAX_SANDBOXES`,
      { cause: err },
    );
  }
  return `pipe buffers per user raised to ${want.soft} pages (every sandbox's pipes belong to the host uid of the sandboxes' root)`;
}

/** Raises the per-user key quota for `sandboxes` sandboxes; says what it did, or what to set
 *  when it cannot (a read-only /proc/sys in a container). */
export async function raiseKeyQuota(sandboxes: number, dir = '/proc/sys/kernel/keys'): Promise<string | undefined> {
  const read = async (name: string) => Number((await readFile(path.join(dir, name), 'utf8')).trim());
  const now = { maxkeys: await read('maxkeys'), maxbytes: await read('maxbytes') };
  const want = keyQuotaFor(sandboxes, now);
  if (want.maxkeys === now.maxkeys && want.maxbytes === now.maxbytes) return undefined;
  try {
    await writeFile(path.join(dir, 'maxbytes'), String(want.maxbytes));
    await writeFile(path.join(dir, 'maxkeys'), String(want.maxkeys));
  } catch (err) {
    throw new Error(
      `the kernel's per-user key quota (kernel.keys.maxkeys ${now.maxkeys}, maxbytes ${now.maxbytes}) would stop sandboxes from starting long before SANDCASTLE_MAX_SANDBOXES (${sandboxes}), and it cannot be raised here (${(err as Error).message}): ` +
        `sysctl -w kernel.keys.maxkeys=${want.maxkeys} kernel.keys.maxbytes=${want.maxbytes}, or lower SANDCASTLE_MAX_SANDBOXES`,
      { cause: err },
    );
  }
  return `kernel key quota per user raised to ${want.maxkeys} keys, ${want.maxbytes} bytes (every sandbox's session keyring belongs to host uid of the sandboxes' root)`;
}
