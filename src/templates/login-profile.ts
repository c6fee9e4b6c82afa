// Every command the SDKs run is a login shell (`/bin/bash -l -c …`), so whatever Debian's login
// files start costs every command. /etc/profile runs `id -u` and root's ~/.profile `mesg n`: two
// process starts, ~5 ms each on a small VM, a quarter of a `commands.run('true')`. The edits
// keep what the files do and drop the process starts.
import { readFile, writeFile } from 'node:fs/promises';

/** bash knows its effective uid ($EUID, read-only); other shells still ask `id -u`. */
export function profileWithoutIdCalls(text: string): string {
  return text.replaceAll('"$(id -u)"', '"${EUID:-$(id -u)}"');
}

/** `mesg n` changes the terminal on standard input; without one it only fails, quietly. */
export function rootProfileWithoutMesgCall(text: string): string {
  return text.replace(/^mesg n 2> \/dev\/null \|\| true$/m, 'if [ -t 0 ]; then mesg n 2> /dev/null || true; fi');
}

/** Applies both edits to a root filesystem; a file that is missing or reads otherwise is left as
 *  it is (another distribution's files may not have these lines). */
export async function quickenLoginShells(root: string): Promise<void> {
  for (const [file, edit] of [
    [`${root}/etc/profile`, profileWithoutIdCalls],
    [`${root}/root/.profile`, rootProfileWithoutMesgCall],
  ] as const) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const edited = edit(text);
    if (edited !== text) await writeFile(file, edited);
  }
}
