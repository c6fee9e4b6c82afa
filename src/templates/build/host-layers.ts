// Layers a build writes from the host without running anything in a sandbox: a COPY step's files,
// a WORKDIR's folder, the `user` account of an image that has none. Paths inside the template
// are resolved through the layers below (their symlinks, the owners and modes of the folders
// on the way), so a new layer never hides what is under it.
import { constants } from 'node:fs';
import { chmod, chown, cp, lchown, lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hostId, type IdMapping } from '../../runtime/id-mapping.js';
import { runCommand } from '../../runtime/run-command.js';

/** A view of a template's root filesystem through its layers, top first (no whiteouts honoured:
 *  good enough to find files and folders that exist). */
export class LayeredRoot {
  /** `userns`: the sandboxes' user-namespace mapping; the layers' owners are host ids of it. */
  constructor(readonly layers: readonly string[], readonly userns?: IdMapping) {}

  /** The host id that a layer written here gives an id of the template's accounts. */
  hostId(id: number): number {
    return hostId(id, this.userns);
  }

  /** The host path of `rel` (no leading slash) in the topmost layer that has it. */
  async find(rel: string): Promise<string | undefined> {
    for (const layer of this.layers) {
      const p = path.join(layer, rel);
      if (await lstat(p).then(() => true, () => false)) return p;
    }
    return undefined;
  }

  async readText(rel: string): Promise<string | undefined> {
    const p = await this.find(rel);
    return p === undefined ? undefined : readFile(p, 'utf8');
  }

  /** `abs` with every symlink on the way resolved inside the root (as the sandbox would see it),
   *  relative to the root. */
  async resolve(abs: string): Promise<string> {
    let parts = abs.split('/').filter((p) => p && p !== '.');
    const done: string[] = [];
    for (let hops = 0; parts.length > 0; ) {
      const part = parts.shift()!;
      if (part === '..') {
        done.pop();
        continue;
      }
      const here = [...done, part].join('/');
      const found = await this.find(here);
      const info = found === undefined ? undefined : await lstat(found);
      if (info?.isSymbolicLink()) {
        if (++hops > 40) throw new Error(`too many symbolic links resolving ${abs}`);
        const target = await readlink(found!);
        parts = [...target.split('/').filter(Boolean), ...parts];
        if (target.startsWith('/')) done.length = 0;
        continue;
      }
      done.push(part);
    }
    return done.join('/');
  }

  /** uid and gid of an account (`name`, `uid`, `name:group` or `uid:gid`) from the root's files. */
  async account(spec: string): Promise<{ uid: number; gid: number }> {
    const [userPart, groupPart] = spec.split(':') as [string, string | undefined];
    const passwd = parseColonFile((await this.readText('etc/passwd')) ?? '');
    const groups = parseColonFile((await this.readText('etc/group')) ?? '');
    const user = /^\d+$/.test(userPart) ? { uid: Number(userPart), gid: Number(passwd.find((p) => p[2] === userPart)?.[3] ?? userPart) } : undefined;
    const named = passwd.find((p) => p[0] === userPart);
    const found = user ?? (named && { uid: Number(named[2]), gid: Number(named[3]) });
    if (!found) throw new Error(`user "${userPart}" does not exist in the template (no line in /etc/passwd)`);
    if (groupPart === undefined) return found;
    if (/^\d+$/.test(groupPart)) return { uid: found.uid, gid: Number(groupPart) };
    const group = groups.find((g) => g[0] === groupPart);
    if (!group) throw new Error(`group "${groupPart}" does not exist in the template (no line in /etc/group)`);
    return { uid: found.uid, gid: Number(group[2]) };
  }
}

function parseColonFile(text: string): string[][] {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
}

/**
 * Creates the folders of `rel` in `layer` that it lacks, each with the owner and mode the layers
 * below give it (overlayfs shows a folder's metadata from the topmost layer that has it); folders
 * none of them has get `owner` (root when unset) and mode 0755.
 */
export async function makeFoldersLike(layer: string, root: LayeredRoot, rel: string, owner?: { uid: number; gid: number }): Promise<void> {
  const parts = rel.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const sub = parts.slice(0, i).join('/');
    const target = path.join(layer, sub);
    if (await lstat(target).then(() => true, () => false)) continue;
    await mkdir(target);
    const below = await root.find(sub);
    const info = below === undefined ? undefined : await lstat(below);
    if (info?.isDirectory()) {
      await chown(target, info.uid, info.gid);
      await chmod(target, info.mode & 0o7777);
    } else {
      await chown(target, root.hostId(owner?.uid ?? 0), root.hostId(owner?.gid ?? 0));
      await chmod(target, 0o755);
    }
  }
}

export interface CopyStep {
  /** Source as the SDK sent it: a path or glob relative to the build context. */
  src: string;
  dest: string;
  /** Account to own the copied files. */
  owner: { uid: number; gid: number };
  /** Octal mode for every copied file and folder, or none to keep theirs. */
  mode?: number;
  /** Folder relative paths (no leading slash) resolve against. */
  workdir: string;
}

/** Turns a glob segment (`*`, `?`) into a regular expression; other characters are literal. */
function segmentPattern(segment: string): RegExp {
  const body = segment.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/** The paths under `dir` that `pattern` names (a plain path, or one with `*`/`?` in segments). */
async function matchPaths(dir: string, pattern: string): Promise<string[]> {
  const segments = pattern.split('/').filter((s) => s && s !== '.');
  let found = [''];
  for (const segment of segments) {
    const next: string[] = [];
    for (const base of found) {
      if (!/[*?]/.test(segment)) {
        const p = path.join(base, segment);
        if (await lstat(path.join(dir, p)).then(() => true, () => false)) next.push(p);
        continue;
      }
      const names = await readdir(path.join(dir, base)).catch(() => [] as string[]);
      for (const n of names) if (segmentPattern(segment).test(n)) next.push(path.join(base, n));
    }
    found = next;
  }
  return found;
}

/**
 * Fills the empty folder `layer` with a COPY step's files: the uploaded gzip tar is unpacked in
 * `scratch`, then what `src` names goes to `dest` as Docker's COPY does it (a folder's contents
 * into dest; a file to dest, or into it when dest ends in `/` or several files match).
 */
export async function writeCopyLayer(layer: string, root: LayeredRoot, tarPath: string, scratch: string, step: CopyStep): Promise<void> {
  const unpacked = path.join(scratch, 'context');
  await mkdir(unpacked, { recursive: true });
  // --no-same-owner/permissions: the uploader's uids mean nothing here; modes are kept.
  await runCommand('tar', ['-xzf', tarPath, '-C', unpacked, '--no-same-owner', '--no-overwrite-dir']);
  const sources = await matchPaths(unpacked, step.src);
  if (sources.length === 0) throw new Error(`COPY ${step.src}: no file in the upload matches it`);
  const destAbs = path.posix.resolve('/', step.workdir, step.dest);
  const intoFolder = step.dest.endsWith('/') || sources.length > 1;
  const dest = await root.resolve(destAbs);
  const made: string[] = [];
  for (const source of sources) {
    const from = path.join(unpacked, source);
    const isDir = (await lstat(from)).isDirectory();
    const rel = isDir || !intoFolder ? dest : path.posix.join(dest, path.basename(source));
    await makeFoldersLike(layer, root, isDir ? rel : path.posix.dirname(rel), step.owner);
    const to = path.join(layer, rel);
    await cp(from, to, { recursive: true, force: true, verbatimSymlinks: true, mode: constants.COPYFILE_FICLONE });
    made.push(to);
  }
  const owner = { uid: root.hostId(step.owner.uid), gid: root.hostId(step.owner.gid) };
  for (const top of made) await ownTree(top, owner, step.mode);
}

/** Gives every entry under `top` (and itself) the owner (host ids), and the mode when one is set. */
async function ownTree(top: string, owner: { uid: number; gid: number }, mode: number | undefined): Promise<void> {
  const info = await lstat(top);
  await lchown(top, owner.uid, owner.gid);
  if (mode !== undefined && !info.isSymbolicLink()) await chmod(top, mode);
  if (!info.isDirectory()) return;
  for (const name of await readdir(top)) await ownTree(path.join(top, name), owner, mode);
}

/** The account sandboxes run commands as by default; images from registries rarely have it. */
export const sandboxUser = { name: 'user', uid: 1000, gid: 1000, home: '/home/user' };

/**
 * Fills the empty folder `layer` with a `user` account (uid 1000, home /home/user) when the image
 * has none: the files are written directly, so it works in an image without a shell or useradd.
 * Returns false when the account was there already (the layer stays empty).
 */
export async function writeUserAccountLayer(layer: string, root: LayeredRoot): Promise<boolean> {
  const passwd = (await root.readText('etc/passwd')) ?? '';
  if (parseColonFile(passwd).some((p) => p[0] === sandboxUser.name)) return false;
  const group = (await root.readText('etc/group')) ?? '';
  const shell = (await root.find('bin/bash')) ? '/bin/bash' : '/bin/sh';
  const line = (text: string) => (text === '' || text.endsWith('\n') ? text : `${text}\n`);
  await makeFoldersLike(layer, root, 'etc');
  const rootId = root.hostId(0);
  await writeFile(path.join(layer, 'etc/passwd'), `${line(passwd)}${sandboxUser.name}:x:${sandboxUser.uid}:${sandboxUser.gid}::${sandboxUser.home}:${shell}\n`, { mode: 0o644 });
  await chown(path.join(layer, 'etc/passwd'), rootId, rootId);
  if (!parseColonFile(group).some((g) => g[0] === sandboxUser.name)) {
    await writeFile(path.join(layer, 'etc/group'), `${line(group)}${sandboxUser.name}:x:${sandboxUser.gid}:\n`, { mode: 0o644 });
    await chown(path.join(layer, 'etc/group'), rootId, rootId);
  }
  await makeFoldersLike(layer, root, sandboxUser.home.slice(1), { uid: sandboxUser.uid, gid: sandboxUser.gid });
  await chown(path.join(layer, sandboxUser.home.slice(1)), root.hostId(sandboxUser.uid), root.hostId(sandboxUser.gid));
  await chmod(path.join(layer, sandboxUser.home.slice(1)), 0o755);
  return true;
}
