// What CRIU's logs say: the errors that explain a failed dump or restore, and whether a dump
// finished (recovery's question after a crash).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkpointImage, checkpointWork } from './checkpoint-layout.js';
import { watchedFolders } from './criu-options.js';

/** Whether CRIU finished the dump in checkpoint folder `dir` (its log says so, its image is there). */
export async function finishedDump(dir: string): Promise<boolean> {
  const log = await readFile(path.join(checkpointWork(dir), 'dump.log'), 'utf8').catch(() => '');
  return log.includes('Dumping finished successfully') && existsSync(path.join(checkpointImage(dir), 'inventory.img'));
}

/** CRIU's error lines from its log, less the one it prints on every run here (RLIMIT_NOFILE
 *  cannot be raised on this kind of host, which is harmless). */
export async function criuErrors(log: string): Promise<string> {
  const text = await readFile(log, 'utf8').catch(() => '');
  const lines = text.split('\n').filter((l) => l.includes('Error') && !l.includes('RLIMIT_NOFILE'));
  const hints = [
    // The kernel's side of a FUSE connection cannot be saved.
    lines.some((l) => l.includes('(chr 10:229)')) && 'a process holds /dev/fuse: unmount the FUSE file systems, e.g. s3fs, before pausing',
    lines.some((l) => l.includes("Can't dump that handle")) &&
      `a process watches a file (inotify) outside the folders a pause finds watched files in (${watchedFolders.join(', ')}, /etc, /var/log): watch under them, or stop that watch before pausing`,
  ].filter(Boolean);
  const strip = (l: string) => l.replace(/^\([\d.]+\)\s*/, '');
  if (lines.length) return `; criu: ${lines.slice(0, 3).map(strip).join(' | ')}${hints.map((h) => ` (${h})`).join('')}`;
  // No error written: it was killed or hung; its last line says where it was.
  const last = text.trimEnd().split('\n').pop();
  return last ? `; criu's log ends: ${strip(last)}` : '';
}
