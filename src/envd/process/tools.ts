// The few system programs envd leans on (util-linux `script`/`setpriv`, coreutils `stty`), found
// once in the standard directories so a user's PATH in `envs` cannot redirect them.
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';

const found = new Map<string, string | undefined>();

/** Programs whose busybox applets (Alpine and other small images) lack the options envd passes:
 *  such an image counts as not having them. */
const utilLinuxOnly = new Set(['script', 'setpriv']);

function isBusyboxApplet(file: string): boolean {
  try {
    return path.basename(realpathSync(file)) === 'busybox';
  } catch {
    return false;
  }
}

export function tool(name: string): string | undefined {
  if (!found.has(name)) {
    const dirs = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];
    const file = dirs.map((d) => `${d}/${name}`).find((p) => existsSync(p));
    found.set(name, file && utilLinuxOnly.has(name) && isBusyboxApplet(file) ? undefined : file);
  }
  return found.get(name);
}

/** Quotes one word for /bin/sh. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
