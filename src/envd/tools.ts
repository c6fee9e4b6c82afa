// The few system programs envd leans on (util-linux `script`/`setpriv`, coreutils `stty`), found
// once in the standard directories so a user's PATH in `envs` cannot redirect them.
import { existsSync } from 'node:fs';

const found = new Map<string, string | undefined>();

export function tool(name: string): string | undefined {
  if (!found.has(name)) {
    const dirs = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];
    found.set(name, dirs.map((d) => `${d}/${name}`).find((p) => existsSync(p)));
  }
  return found.get(name);
}

/** Quotes one word for /bin/sh. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
