// CRIU (with our patch) writes the pages of an image past its first 128 MiB around the page cache,
// so a large pause does not wait for as much new memory as it saves. Reading that part back in the
// background, once the dump is done and the sandbox's own memory is free, puts it where a resume
// soon after finds it, as it finds a small image.
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** Must match PAGES_DIRECT_FROM in scripts/criu/pages-direct-past-128m.patch. */
const directFromMiB = 128;

/** Starts reading the uncached part of every large pages image in `imageDir`; never fails. */
export function warmImage(imageDir: string): void {
  void (async () => {
    const names = (await readdir(imageDir)).filter((n) => /^pages-\d+\.img$/.test(n));
    for (const name of names) {
      const file = path.join(imageDir, name);
      if ((await stat(file)).size <= directFromMiB * 1024 * 1024) continue;
      const dd = spawn('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M', `skip=${directFromMiB}`], { stdio: 'ignore' });
      dd.on('error', () => undefined);
    }
  })().catch(() => undefined);
}
