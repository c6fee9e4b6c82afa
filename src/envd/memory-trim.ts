// Gives the kernel back the memory a process inside the sandbox freed while moving a lot of data:
// envd a command's output or a file's upload or download, the code interpreter a cell's output.
// V8 keeps garbage until it next needs room, which an idle process never does, and glibc keeps
// freed blocks resident (malloc-trim.c says why); a pause then writes both to disk and a resume
// reads them back. When a transfer ends and the process's resident size grew by
// trimAfterGrowthBytes over the lowest seen since the last release, the release follows shortly
// after, or at the next transfer's start if that comes first: at the end much of the data may
// still be on its way to the client (a release at a command's end gave back nothing, measured).
// envd's and the interpreter's own files hold their one instance.
import v8 from 'node:v8';
import vm from 'node:vm';
import { bundledFile } from './bundled-file.js';

const trimAfterGrowthBytes = 8 * 1024 * 1024;
/** How long after a transfer's end its data is taken to have left (a client on the same host
 *  reads it within milliseconds). */
const outputGoneMs = 200;

export class FreedMemory {
  private trim: (() => boolean) | undefined | null;
  private gc: (() => void) | undefined;
  private pending: NodeJS.Timeout | undefined;
  private baseline = process.memoryUsage.rss();

  /** `warn` says, once, that the addon could not be loaded. */
  constructor(private readonly warn: (message: string) => void) {}

  /** At a transfer's end: once the process grew enough (see above), gives the freed memory back
   *  a moment later, when the data still on its way out at the end has gone. */
  releaseSoon(): void {
    const rss = process.memoryUsage.rss();
    if (rss - this.baseline < trimAfterGrowthBytes) {
      // Lower after a restore (node's own code is mapped again only as it runs) than at the start.
      this.baseline = Math.min(this.baseline, rss);
      return;
    }
    this.pending ??= setTimeout(() => this.releaseNow(), outputGoneMs);
  }

  /** At a transfer's start: a release still waiting runs now (a client that sends a request has
   *  read the answer to its last one). */
  releaseWaiting(): void {
    if (!this.pending) return;
    clearTimeout(this.pending);
    this.releaseNow();
  }

  private releaseNow(): void {
    this.pending = undefined;
    if (this.trim === undefined) this.trim = this.loadTrim();
    // The data's buffers that nothing holds any more are freed by a garbage collection: collected
    // first, they are given back too.
    this.gc ??= fullGarbageCollection();
    // The context's record of the last regular-expression match (RegExp.lastMatch) holds its whole
    // subject, and a failed match leaves it as it is: after readline split a 16 MiB line from the
    // kernel bridge, that record alone kept the line alive (a heap snapshot showed it). A match on
    // an empty string lets it go.
    /^/.exec('');
    this.gc();
    this.trim?.();
    this.baseline = process.memoryUsage.rss();
  }

  private loadTrim(): (() => boolean) | null {
    const file = bundledFile('malloc-trim.node');
    try {
      if (!file) throw new Error('malloc-trim.node is missing (run `npm run build`)');
      const addon = { exports: {} as { trim?: () => boolean } };
      process.dlopen(addon, file);
      if (typeof addon.exports.trim !== 'function') throw new Error(`${file} has no trim()`);
      return addon.exports.trim;
    } catch (err) {
      this.warn(`freed memory is not given back after large transfers: ${(err as Error).message}`);
      return null;
    }
  }
}

/** envd runs with --expose-gc. The interpreter's flags come from its template's start command,
 *  which existing templates keep: a context made after the flag is set has the function too. */
function fullGarbageCollection(): () => void {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
