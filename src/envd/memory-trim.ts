// Gives the kernel back the memory envd freed while moving a lot of data (a command's output, a
// file's upload or download): glibc keeps it resident otherwise (malloc-trim.c says why), and a
// pause then writes it to disk and a resume reads it back. When a command or a file transfer ends
// and envd's resident size grew by trimAfterGrowthBytes over the lowest seen since the last
// release, the release follows shortly after, or at the next command's or transfer's start if
// that comes first: at the end much of the data may still be on its way to the client (a release
// at a command's end gave back nothing, measured).
import { bundledFile } from './bundled-file.js';
import { envdLog } from './envd-log.js';

const trimAfterGrowthBytes = 8 * 1024 * 1024;
/** How long after a command's or transfer's end its data is taken to have left (a client on the
 *  same host reads it within milliseconds). */
const outputGoneMs = 200;

let trim: (() => boolean) | undefined | null;
let pending: NodeJS.Timeout | undefined;
let baseline = process.memoryUsage.rss();

function loadTrim(): (() => boolean) | null {
  const file = bundledFile('malloc-trim.node');
  try {
    if (!file) throw new Error('malloc-trim.node is missing (run `npm run build`)');
    const addon = { exports: {} as { trim?: () => boolean } };
    process.dlopen(addon, file);
    if (typeof addon.exports.trim !== 'function') throw new Error(`${file} has no trim()`);
    return addon.exports.trim;
  } catch (err) {
    envdLog('warn', `freed memory is not given back after large transfers: ${(err as Error).message}`);
    return null;
  }
}

/** At a command's or file transfer's end: once envd grew enough (see above), gives the freed
 *  memory back a moment later, when the data still on its way out at the end has gone. */
export function releaseFreedMemorySoon(): void {
  const rss = process.memoryUsage.rss();
  if (rss - baseline < trimAfterGrowthBytes) {
    // Lower after a restore (node's own code is mapped again only as it runs) than at the start.
    baseline = Math.min(baseline, rss);
    return;
  }
  pending ??= setTimeout(releaseNow, outputGoneMs);
}

/** At a command's or file transfer's start: a release still waiting runs now (a client that
 *  sends a request has read the answer to its last one). */
export function releaseWaitingFreedMemory(): void {
  if (!pending) return;
  clearTimeout(pending);
  releaseNow();
}

function releaseNow(): void {
  pending = undefined;
  if (trim === undefined) trim = loadTrim();
  // The output's buffers that nothing holds any more are freed by a garbage collection, which an
  // idle envd would not run: collected first, they are given back too.
  globalThis.gc?.();
  trim?.();
  baseline = process.memoryUsage.rss();
}
