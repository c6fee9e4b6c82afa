// EntryInfo of a path as protocol §4.6 describes it. Only FILE and DIRECTORY types exist in the
// novita proto, so a symlink is reported as what it points to, with `symlinkTarget` set.
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { lstat, readlink, realpath, stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import path from 'node:path';
import { EntryInfoSchema, FileType } from '../gen/envd/filesystem_pb.js';
import { TimestampSchema } from '@bufbuild/protobuf/wkt';
import { groupName, userName } from '../users.js';

export type EntryInit = MessageInitShape<typeof EntryInfoSchema>;

const fileTypeLetters = new Map<number, string>([
  [0o040000, 'd'], // directory
  [0o120000, 'L'], // symlink
  [0o010000, 'p'], // named pipe
  [0o140000, 'S'], // socket
  [0o060000, 'D'], // block device
  [0o020000, 'Dc'], // character device
]);

/** Mode string the way Go's os.FileMode prints it (`-rw-r--r--`, `drwxr-xr-x`, `urwxr-xr-x`...). */
export function permissionString(mode: number): string {
  let prefix = fileTypeLetters.get(mode & 0o170000) ?? '';
  if (mode & 0o4000) prefix += 'u';
  if (mode & 0o2000) prefix += 'g';
  if (mode & 0o1000) prefix += 't';
  let rwx = '';
  for (let bit = 8; bit >= 0; bit--) rwx += mode & (1 << bit) ? 'rwxrwxrwx'[8 - bit] : '-';
  return (prefix || '-') + rwx;
}

function fromStats(p: string, st: BigIntStats, symlinkTarget?: string): EntryInit {
  const mode = Number(st.mode);
  return {
    name: path.basename(p),
    type: st.isDirectory() ? FileType.DIRECTORY : FileType.FILE,
    path: p,
    size: st.size,
    mode: mode & 0o777,
    permissions: permissionString(mode),
    owner: userName(Number(st.uid)),
    group: groupName(Number(st.gid)),
    modifiedTime: create(TimestampSchema, {
      seconds: st.mtimeNs / 1_000_000_000n,
      nanos: Number(st.mtimeNs % 1_000_000_000n),
    }),
    symlinkTarget,
  };
}

/** EntryInfo of `p` (absolute); rejects with the fs error (ENOENT...) when it cannot be read. */
export async function entryInfo(p: string): Promise<EntryInit> {
  const own = await lstat(p, { bigint: true });
  if (!own.isSymbolicLink()) return fromStats(p, own);
  // A dangling link keeps its own stats; its target is still worth reporting.
  const target = await realpath(p).catch(async () => path.resolve(path.dirname(p), await readlink(p)));
  const targetStats = await stat(p, { bigint: true }).catch(() => own);
  return fromStats(p, targetStats, target);
}
