// Paths as clients give them: a path inside a volume (content API) and a mount point inside a
// sandbox (create's volumeMounts), each checked before anything touches the disk.
import path from 'node:path';
import { errors } from '../errors.js';

/** Longest path accepted, as Linux's PATH_MAX. */
const maxPathLength = 4096;

/**
 * The folders and name a path inside a volume walks, from its root: `/a/b`, `a/b` and `a//b/`
 * all give [a, b] and `/` gives []. `.` is skipped and `..` steps back; a `..` that would leave
 * the root is refused (400), as is an empty or NUL-bearing path.
 */
export function volumePathSegments(p: string): string[] {
  if (typeof p !== 'string' || p === '') throw errors.volumePathInvalid(String(p), 'is empty; give a path inside the volume such as /data/file.txt');
  if (p.includes('\0')) throw errors.volumePathInvalid(p, 'contains a NUL byte');
  if (p.length > maxPathLength) throw errors.volumePathInvalid(p.slice(0, 64) + '…', `is longer than ${maxPathLength} characters`);
  return stepThrough([], p.split('/'), p);
}

/** Appends `steps` (path segments, `..` included) to the folders `from`, refusing to climb above
 *  the root. `shown` is the path the client gave, for the error. */
export function stepThrough(from: string[], steps: string[], shown: string): string[] {
  const out = [...from];
  for (const s of steps) {
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (out.length === 0) throw errors.volumePathInvalid(shown, "leaves the volume ('..' above its root)");
      out.pop();
    } else {
      out.push(s);
    }
  }
  return out;
}

/** The path as the API shows it: absolute from the volume's root. */
export function shownPath(segments: string[]): string {
  return `/${segments.join('/')}`;
}

/** Where the sandbox keeps what it cannot do without: a volume may not cover these. */
const reserved = ['/proc', '/sys', '/dev', '/opt/sandcastle', '/etc/resolv.conf'];

/** A create's mount point, normalised: absolute, not the root, nor over the sandbox's own
 *  mounts (400 naming what is wrong). */
export function checkMountPath(p: unknown): string {
  if (typeof p !== 'string' || p === '') throw errors.invalidVolumeMount(String(p), 'is empty; give an absolute path such as /mnt/data');
  if (p.includes('\0')) throw errors.invalidVolumeMount(p, 'contains a NUL byte');
  if (!p.startsWith('/')) throw errors.invalidVolumeMount(p, 'is not absolute; give a path such as /mnt/data');
  if (p.split('/').includes('..')) throw errors.invalidVolumeMount(p, "contains '..'");
  const normal = path.posix.normalize(p).replace(/\/+$/, '');
  if (normal === '') throw errors.invalidVolumeMount(p, 'is the root folder; mount the volume in a folder such as /mnt/data');
  const covered = reserved.find((r) => normal === r || normal.startsWith(`${r}/`) || r.startsWith(`${normal}/`));
  if (covered) throw errors.invalidVolumeMount(p, `would cover ${covered}, which the sandbox needs; choose another folder`);
  return normal;
}
