// Where volumes live on the host: one folder each under the data directory, owned as sandboxes'
// `user` (uid 1000 inside, mapped through the user namespace when there is one) so that both
// `user` and root inside can write it. Nothing outside this module knows these paths.
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { hostId, type IdMapping } from '../runtime/id-mapping.js';
import { runCommand } from '../runtime/run-command.js';

/** The sandboxes' default user (the templates make `user` with this uid and gid). */
const sandboxUserId = 1000;

/** Folders being removed, on the same file system as the volumes and out of every sandbox's reach. */
const trashName = '.trash';

export class VolumeStorage {
  constructor(
    private readonly dir: string,
    private readonly mapping: IdMapping | undefined,
  ) {}

  /** The volume's folder: what a sandbox bind-mounts, and the root of its content API. */
  root(id: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(id)) throw new Error(`volume id '${id}' is not one path segment`);
    return path.join(this.dir, id);
  }

  /** Host id of an id inside the sandboxes. */
  toHost(id: number): number {
    return hostId(id, this.mapping);
  }

  /** Id inside the sandboxes of a host id; ids outside the mapping show as nobody (65534). */
  toSandbox(id: number): number {
    if (!this.mapping) return id;
    const inside = id - this.mapping.base;
    return inside >= 0 && inside < this.mapping.size ? inside : 65534;
  }

  /** Host owner of what the content API makes unless asked otherwise: the sandboxes' `user`. */
  defaultOwner(): { uid: number; gid: number } {
    return { uid: this.toHost(sandboxUserId), gid: this.toHost(sandboxUserId) };
  }

  /** Makes the volume's empty folder; one that is there is kept as it is. Others may only pass
   *  through the volumes folder (runc binds a volume from inside the user namespace), not list it. */
  async make(id: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o711 });
    await chmod(this.dir, 0o711);
    const root = this.root(id);
    try {
      await mkdir(root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
      throw err;
    }
    const { uid, gid } = this.defaultOwner();
    await chown(root, uid, gid);
    await chmod(root, 0o755);
  }

  /** Removes the volume's folder and all it holds. It is moved out of every sandbox's reach first,
   *  and GNU rm (which never follows a symlink it meets, even one swapped in meanwhile) empties it. */
  async remove(id: string): Promise<void> {
    const trash = path.join(this.dir, trashName);
    await mkdir(trash, { recursive: true, mode: 0o700 });
    const aside = path.join(trash, `${id}-${randomBytes(4).toString('hex')}`);
    try {
      await rename(this.root(id), aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await runCommand('rm', ['-rf', '--one-file-system', '--', aside]);
  }

  /** Moves a folder inside a volume (given as a path the caller opened safely) out of every
   *  sandbox's reach and removes it, as `remove` does. */
  async removeTree(from: string): Promise<void> {
    const trash = path.join(this.dir, trashName);
    await mkdir(trash, { recursive: true, mode: 0o700 });
    const aside = path.join(trash, `tree-${randomBytes(6).toString('hex')}`);
    await rename(from, aside);
    await runCommand('rm', ['-rf', '--one-file-system', '--', aside]);
  }

  /** Ids of the volume folders there are (to reconcile them with the table at start). */
  async list(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => n !== trashName);
  }

  /** Empties the trash a previous server process left (a removal cut short). */
  async emptyTrash(): Promise<void> {
    const trash = path.join(this.dir, trashName);
    await runCommand('rm', ['-rf', '--one-file-system', '--', trash]);
  }
}
