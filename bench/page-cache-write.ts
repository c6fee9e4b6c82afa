// The machine's own floor under a pause: a checkpoint writes the sandbox's memory into new files,
// so it needs as much fresh page cache as the memory it saves. On a VM whose free memory the host
// takes back (virtio-balloon free page reporting), first touching that memory is what costs.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../src/runtime/run-command.js';

/** Milliseconds for `dd` to write `mib` MiB of zeros into a new file in `dir` (no sync). */
export async function pageCacheWriteMs(dir: string, mib: number): Promise<number> {
  const file = path.join(dir, 'bench-page-cache-write');
  try {
    const t0 = performance.now();
    await runCommand('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${mib}`], { quiet: true });
    return performance.now() - t0;
  } finally {
    await rm(file, { force: true });
  }
}
