// Path rules shared by the file API and the RPC services: `~` and relative paths belong to the
// operation's user, and directories envd creates on the way belong to that user too.
import { chown, lstat, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { state } from '../state.js';
import type { User } from '../users.js';

export class PathError extends Error {}

/** Absolute form of `p` for `user`: empty ⇒ default workdir (else home), `~/x` and `x` ⇒ under home. */
export function resolveUserPath(p: string, user: User): string {
  // No file name holds a NUL byte, and Node's fs refuses one with an error of its own.
  if (p.includes('\0')) throw new PathError(`path '${p.replace(/\0/g, '\\0')}' contains a NUL byte`);
  if (p === '' && state.defaultWorkdir !== undefined) p = state.defaultWorkdir;
  if (p.startsWith('~')) {
    if (p.length > 1 && p[1] !== '/') throw new PathError(`cannot expand user-specific home dir in '${p}'`);
    p = path.join(user.home, p.slice(1));
  }
  return path.resolve(user.home, p);
}

/** Whether `p` exists (a dangling symlink does); errors other than absence are thrown. */
export async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw err;
  }
}

/**
 * Creates `dir` and its missing parents, each owned by `user`. Throws PathError when something
 * on the way is not a directory.
 */
export async function ensureDirs(dir: string, user: User): Promise<void> {
  const missing: string[] = [];
  let current = dir;
  while (!(await exists(current))) {
    missing.unshift(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  const existing = await stat(current).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new PathError(`path is a file: ${current}`);
  for (const d of missing) {
    try {
      await mkdir(d, 0o755);
    } catch (err) {
      // A concurrent request may have created it meanwhile; that is fine.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      continue;
    }
    await chownTo(d, user);
  }
}

/** chown to the user; a no-op when envd is not root and the file is already ours. */
export async function chownTo(p: string, user: User): Promise<void> {
  if (process.getuid?.() !== 0) return;
  await chown(p, user.uid, user.gid);
}
