// The volume content API's file operations on one volume's folder. Sandboxes write the same folder
// at the same time, so nothing here trusts a path it checked a moment ago: every walk opens one
// folder at a time with O_NOFOLLOW from the volume's root (the folder's /proc/self/fd link
// standing in for openat), and files are judged by what was opened, never by name. A symlink
// inside the volume is followed only when it is relative and stays inside (400 otherwise).
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, unlink, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { errors } from '../errors.js';
import { shownPath, stepThrough, volumePathSegments } from './volume-paths.js';
import type { VolumeStorage } from './volume-storage.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK } = constants;
/** Linux's O_PATH (Node does not export it): a handle naming an inode without opening it, so a
 *  file's type is known before anything opens it (a FIFO or device node never is). */
const O_PATH = 0o10000000;
/** As the kernel's limit on symlinks in one lookup. */
const maxSymlinkHops = 40;

export interface VolumeEntry {
  name: string;
  /** From the volume's root, starting with `/`. */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'unknown';
  size: number;
  /** Permission bits. */
  mode: number;
  /** Owner as the sandboxes see it. */
  uid: number;
  gid: number;
  atime: string;
  mtime: string;
  ctime: string;
  /** A symlink's target. */
  target?: string;
}

/** Owner and permissions a call asks for; ids as the sandboxes see them. */
export interface EntryOptions {
  uid?: number;
  gid?: number;
  mode?: number;
}

/** The name `name` inside the opened folder `dir`, for calls that take a path. */
const at = (dir: FileHandle, name: string) => `/proc/self/fd/${dir.fd}/${name}`;
/** The opened handle itself, for reopening it (O_PATH) or reading a folder. */
const self = (h: FileHandle) => `/proc/self/fd/${h.fd}`;

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

export class VolumeFiles {
  constructor(
    private readonly root: string,
    private readonly storage: VolumeStorage,
  ) {}

  async stat(given: string): Promise<VolumeEntry> {
    const segs = await this.resolve(given, false);
    return this.inParent(segs, given, async (parent, name) => {
      if (!parent) return this.withRoot((root) => root.stat().then((st) => this.entry(segs, st)));
      const st = await lstat(at(parent, name)).catch((err) => this.rethrow(err, given));
      return this.entry(segs, st, st.isSymbolicLink() ? await readlink(at(parent, name)) : undefined);
    });
  }

  /** The folder's entries, and theirs down to `depth` levels. */
  async list(given: string, depth = 1): Promise<VolumeEntry[]> {
    if (!Number.isInteger(depth) || depth < 1) throw errors.badRequest(`depth must be a whole number of at least 1, got ${depth}`);
    const segs = await this.resolve(given, true);
    const dir = await this.openDir(segs, given);
    try {
      return await this.listOpen(dir, segs, depth, given);
    } finally {
      await dir.close();
    }
  }

  private async listOpen(dir: FileHandle, segs: string[], depth: number, given: string): Promise<VolumeEntry[]> {
    const out: VolumeEntry[] = [];
    for (const name of (await readdir(self(dir))).sort()) {
      const st = await lstat(at(dir, name)).catch(() => undefined);
      if (!st) continue; // removed meanwhile
      const childSegs = [...segs, name];
      out.push(this.entry(childSegs, st, st.isSymbolicLink() ? await readlink(at(dir, name)).catch(() => '') : undefined));
      if (depth > 1 && st.isDirectory()) {
        const child = await this.openChildDir(dir, name, given).catch(() => undefined);
        if (!child) continue;
        try {
          out.push(...(await this.listOpen(child, childSegs, depth - 1, given)));
        } finally {
          await child.close();
        }
      }
    }
    return out;
  }

  /** A file's content, opened; its size for Content-Length. */
  async read(given: string): Promise<{ handle: FileHandle; size: number }> {
    const segs = await this.resolve(given, true);
    if (segs.length === 0) throw errors.volumePathInvalid(given, 'is a folder; list it instead');
    return this.inParent(segs, given, async (parent, name) => {
      const handle = await this.openFile(parent!, name, O_RDONLY, given);
      return { handle, size: (await handle.stat()).size };
    });
  }

  /** Writes `body` as the file's whole content, making it and its missing folders (owned by the
   *  sandboxes' user unless `opts` says otherwise). */
  async write(given: string, body: Readable, opts: EntryOptions): Promise<VolumeEntry> {
    const segs = await this.resolve(given, true);
    if (segs.length === 0) throw errors.volumePathInvalid(given, 'is the volume root, a folder');
    const parent = await this.openDir(segs.slice(0, -1), given, true);
    const name = segs[segs.length - 1]!;
    try {
      let handle: FileHandle;
      let made = false;
      try {
        handle = await open(at(parent, name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, opts.mode ?? 0o644);
        made = true;
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw this.mapError(err, given);
        handle = await this.openFile(parent, name, O_WRONLY, given);
        await handle.truncate(0);
      }
      await this.own(handle, made, opts);
      // On disk before the answer, as a volume is storage that outlives its sandboxes.
      await pipeline(body, handle.createWriteStream({ flush: true }));
      return this.entry(segs, await lstat(at(parent, name)));
    } finally {
      await parent.close();
    }
  }

  /** Makes a folder; `force` makes its missing parents too and accepts one that is there. */
  async makeDir(given: string, opts: EntryOptions & { force?: boolean }): Promise<VolumeEntry> {
    const segs = await this.resolve(given, false);
    if (segs.length === 0) {
      if (opts.force) return this.stat(given);
      throw errors.volumeConflict(given, 'is the volume root, which exists');
    }
    const parent = await this.openDir(segs.slice(0, -1), given, opts.force === true);
    const name = segs[segs.length - 1]!;
    try {
      let made = true;
      await mkdir(at(parent, name), { mode: 0o755 }).catch((err) => {
        if (errno(err) === 'EEXIST' && opts.force) made = false;
        else if (errno(err) === 'EEXIST') throw errors.volumeConflict(given, 'exists already');
        else throw this.mapError(err, given);
      });
      const dir = await this.openChildDir(parent, name, given);
      try {
        await this.own(dir, made, opts);
        return this.entry(segs, await dir.stat());
      } finally {
        await dir.close();
      }
    } finally {
      await parent.close();
    }
  }

  /** Changes owner and permissions; a symlink's permissions are not its own, only its owner is. */
  async updateMetadata(given: string, opts: EntryOptions): Promise<VolumeEntry> {
    const segs = await this.resolve(given, false);
    return this.inParent(segs, given, async (parent, name) => {
      const handle = parent ? await this.openAny(parent, name, given) : await open(this.root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      try {
        await this.own(handle, false, opts);
        return this.entry(segs, await handle.stat());
      } finally {
        await handle.close();
      }
    });
  }

  async remove(given: string): Promise<void> {
    const segs = await this.resolve(given, false);
    if (segs.length === 0) throw errors.volumePathInvalid(given, 'is the volume root; delete the volume instead');
    await this.inParent(segs, given, async (parent, name) => {
      const st = await lstat(at(parent!, name)).catch((err) => this.rethrow(err, given));
      if (st.isDirectory()) await this.storage.removeTree(at(parent!, name));
      else await unlink(at(parent!, name)).catch((err) => this.rethrow(err, given));
    });
  }

  /**
   * The path's segments from the root with every symlink on the way resolved (and the last one's
   * too when `followLast`): a relative one that stays inside is followed, an absolute one (a path
   * in the sandbox, not here) or one that climbs out is refused. What is not there (yet) is kept
   * as written. Only the walk that acts (openDir) is trusted; this decides where it goes.
   */
  private async resolve(given: string, followLast: boolean): Promise<string[]> {
    let pending = volumePathSegments(given);
    let done: string[] = [];
    let hops = 0;
    while (pending.length > 0) {
      const seg = pending.shift()!;
      if (seg === '' || seg === '.' || seg === '..') {
        done = stepThrough(done, [seg], given);
        continue;
      }
      const candidate = [...done, seg];
      if (pending.length === 0 && !followLast) return candidate;
      const st = await lstat(path.join(this.root, ...candidate)).catch((err) => {
        if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return undefined;
        throw err;
      });
      if (!st) return stepThrough(candidate, pending, given);
      if (!st.isSymbolicLink()) {
        done = candidate;
        continue;
      }
      if (++hops > maxSymlinkHops) throw errors.volumePathInvalid(given, `passes more than ${maxSymlinkHops} symlinks`);
      const target = await readlink(path.join(this.root, ...candidate));
      if (target.startsWith('/')) {
        throw errors.volumePathInvalid(given, `passes the symlink ${shownPath(candidate)} -> ${target}, an absolute path, which leaves the volume`);
      }
      try {
        done = stepThrough(done, target.split('/'), given);
      } catch {
        throw errors.volumePathInvalid(given, `passes the symlink ${shownPath(candidate)} -> ${target}, which leaves the volume`);
      }
    }
    return done;
  }

  /** Runs `act` with the opened parent folder of `segs` and the last name; for the root, with
   *  no parent. */
  private async inParent<T>(segs: string[], given: string, act: (parent: FileHandle | undefined, name: string) => Promise<T>): Promise<T> {
    if (segs.length === 0) return act(undefined, '');
    const parent = await this.openDir(segs.slice(0, -1), given);
    try {
      return await act(parent, segs[segs.length - 1]!);
    } finally {
      await parent.close();
    }
  }

  private async withRoot<T>(act: (root: FileHandle) => Promise<T>): Promise<T> {
    const root = await open(this.root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      return await act(root);
    } finally {
      await root.close();
    }
  }

  /** Opens the folder `segs` names one step at a time; `make` makes missing ones (owned by the
   *  sandboxes' user). A symlink met here (one swapped in since `resolve`) stops the walk. */
  private async openDir(segs: string[], given: string, make = false): Promise<FileHandle> {
    let dir = await open(this.root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      for (const seg of segs) {
        const next = await this.openChildDir(dir, seg, given, make);
        await dir.close();
        dir = next;
      }
      return dir;
    } catch (err) {
      await dir.close().catch(() => undefined);
      throw err;
    }
  }

  private async openChildDir(dir: FileHandle, name: string, given: string, make = false): Promise<FileHandle> {
    const flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
    try {
      return await open(at(dir, name), flags);
    } catch (err) {
      if (errno(err) !== 'ENOENT' || !make) throw this.mapError(err, given);
    }
    await mkdir(at(dir, name), { mode: 0o755 }).catch((err) => {
      if (errno(err) !== 'EEXIST') throw this.mapError(err, given);
    });
    const made = await open(at(dir, name), flags).catch((err) => {
      throw this.mapError(err, given);
    });
    await this.own(made, true, {});
    return made;
  }

  /** Opens a regular file for `flags`, having checked through an O_PATH handle what it is. */
  private async openFile(parent: FileHandle, name: string, flags: number, given: string): Promise<FileHandle> {
    const ref = await open(at(parent, name), O_PATH | O_NOFOLLOW).catch((err) => {
      throw this.mapError(err, given);
    });
    try {
      const st = await ref.stat();
      if (st.isDirectory()) throw errors.volumePathInvalid(given, 'is a folder, not a file');
      if (!st.isFile()) throw errors.volumePathInvalid(given, 'is not a regular file (a symlink swapped in, a FIFO or a device)');
      return await open(self(ref), flags | O_NONBLOCK);
    } finally {
      await ref.close();
    }
  }

  /** Opens a file or folder (not a symlink, FIFO or device) to change what it is. */
  private async openAny(parent: FileHandle, name: string, given: string): Promise<FileHandle> {
    const ref = await open(at(parent, name), O_PATH | O_NOFOLLOW).catch((err) => {
      throw this.mapError(err, given);
    });
    try {
      const st = await ref.stat();
      if (!st.isFile() && !st.isDirectory()) throw errors.volumePathInvalid(given, 'is neither a file nor a folder');
      return await open(self(ref), O_RDONLY | O_NONBLOCK);
    } finally {
      await ref.close();
    }
  }

  /** Gives what `handle` opened the owner and mode `opts` asks for; something just `made` gets
   *  the sandboxes' user otherwise. */
  private async own(handle: FileHandle, made: boolean, opts: EntryOptions): Promise<void> {
    if (made || opts.uid !== undefined || opts.gid !== undefined) {
      const fallback = this.storage.defaultOwner();
      const st = made ? undefined : await handle.stat();
      const uid = opts.uid !== undefined ? this.storage.toHost(opts.uid) : (st?.uid ?? fallback.uid);
      const gid = opts.gid !== undefined ? this.storage.toHost(opts.gid) : (st?.gid ?? fallback.gid);
      await handle.chown(uid, gid);
    }
    if (opts.mode !== undefined) await handle.chmod(opts.mode & 0o7777);
  }

  private entry(segs: string[], st: Stats, target?: string): VolumeEntry {
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'unknown';
    return {
      name: segs[segs.length - 1] ?? '',
      path: shownPath(segs),
      type,
      size: st.size,
      mode: st.mode & 0o7777,
      uid: this.storage.toSandbox(st.uid),
      gid: this.storage.toSandbox(st.gid),
      atime: st.atime.toISOString(),
      mtime: st.mtime.toISOString(),
      ctime: st.ctime.toISOString(),
      ...(target !== undefined ? { target } : {}),
    };
  }

  private rethrow(err: unknown, given: string): never {
    throw this.mapError(err, given);
  }

  /** A file system error as the API answers it: missing → 404; a symlink or file where a folder
   *  should be → 400; anything else stays a server error. */
  private mapError(err: unknown, given: string): Error {
    switch (errno(err)) {
      case 'ENOENT':
        return errors.volumePathNotFound(given);
      case 'ELOOP':
        return errors.volumePathInvalid(given, 'passes a symlink that changed while it was used, or points outside the volume');
      case 'ENOTDIR':
        return errors.volumePathInvalid(given, 'goes through something that is not a folder');
      case 'EISDIR':
        return errors.volumePathInvalid(given, 'is a folder, not a file');
      case 'ENXIO':
        return errors.volumePathInvalid(given, 'is not a regular file');
      default:
        return err as Error;
    }
  }
}
