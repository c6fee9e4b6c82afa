// Lazy restore (SANDCASTLE_LAZY_RESTORE=1): CRIU restores a paused sandbox's processes without
// their anonymous memory, which a `criu lazy-pages` daemon then copies in from the checkpoint
// image (userfaultfd) as the processes touch it, and the rest in the background until all of it is
// in; then the daemon exits. A resume answers before the memory is read (1 GiB: ~0.4 s instead of
// ~1.3 s here); the first requests pay for the pages they touch.
//
// Until its daemon has exited, part of a sandbox's memory exists only in the image: a checkpoint
// taken meanwhile would save the missing pages as empty, and the image must stay. Checkpoints and
// the removal of the image wait for `settled`. If the daemon died early, the kernel would give the
// missing pages as zeros: it is kept out of the OOM killer's reach, and a checkpoint after such a
// death is refused.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config.js';

/** How long a checkpoint waits for a lazy restore to finish copying memory in. */
const settleTimeoutMs = 60_000;

/** The daemon's log in the restore's work folder (where CRIU's restore looks for its socket). */
export const lazyPagesLog = 'lazy-pages.log';

/** What keeps the restored tasks from asking for userfaultfd in their user namespace, or
 *  undefined when nothing does. `sysctl` is /proc/sys/vm/unprivileged_userfaultfd's content. */
export function lazyRestoreProblem(userns: boolean, sysctl: string | undefined): string | undefined {
  if (!userns || sysctl?.trim() === '1') return undefined;
  return (
    'SANDCASTLE_LAZY_RESTORE=1: the restored processes of a user-namespaced sandbox open their userfaultfd inside its user namespace, ' +
    'which this kernel refuses while vm.unprivileged_userfaultfd is 0 (CRIU: "Unable to open an userfaultfd descriptor: Operation not permitted"). ' +
    'Set SANDCASTLE_USERNS=0, or vm.unprivileged_userfaultfd=1 (which lets any process handle kernel page faults), or SANDCASTLE_LAZY_RESTORE=0'
  );
}

/** The lazy restore the configuration asks for, or undefined; throws, saying what to change,
 *  where the kernel would refuse it. */
export function lazyPagesFor(config: Pick<Config, 'lazyRestore' | 'userns' | 'criuPath'>): LazyPages | undefined {
  if (!config.lazyRestore) return undefined;
  let sysctl: string | undefined;
  try {
    sysctl = readFileSync('/proc/sys/vm/unprivileged_userfaultfd', 'utf8');
  } catch {
    // a kernel without the setting (older than 5.2) lets any process have a userfaultfd
  }
  const problem = lazyRestoreProblem(config.userns !== undefined, sysctl);
  if (problem) throw new Error(problem);
  return new LazyPages(config.criuPath);
}

interface Daemon {
  child: ChildProcess;
  /** Resolves to the daemon's exit status (null: killed) once it has exited. */
  exited: Promise<number | null>;
  log: string;
}

export class LazyPages {
  private readonly daemons = new Map<string, Daemon>();

  constructor(private readonly criuPath: string) {}

  /** Starts the daemon that serves sandbox `id`'s memory from `imageDir`; resolves once it
   *  listens in `workDir`, where the restore (run with `--lazy-pages` there) finds it. */
  async start(id: string, imageDir: string, workDir: string): Promise<void> {
    await this.stop(id);
    await mkdir(workDir, { recursive: true });
    // fd 3: CRIU writes one byte there once its socket listens (--status-fd).
    const child = spawn(this.criuPath, ['lazy-pages', '--images-dir', imageDir, '--work-dir', workDir, '--status-fd', '3', '-o', lazyPagesLog], {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const log = path.join(workDir, lazyPagesLog);
    this.daemons.set(id, { child, exited, log });
    // A daemon that failed stays known, so that the next checkpoint is refused.
    void exited.then((code) => {
      if (code === 0 && this.daemons.get(id)?.child === child) this.daemons.delete(id);
    });
    if (child.pid !== undefined) await writeFile(`/proc/${child.pid}/oom_score_adj`, '-1000').catch(() => undefined);
    const status = child.stdio[3] as NodeJS.ReadableStream;
    const ready = await Promise.race([once(status, 'data').then(() => true), exited.then(() => false)]);
    if (!ready) {
      this.daemons.delete(id);
      throw new Error(`criu lazy-pages for sandbox ${id} exited before it listened${await logErrors(log)}`);
    }
  }

  /** Resolves once sandbox `id` has all of its memory (no daemon is serving it); rejects when its
   *  daemon failed (some of its memory may be missing) or is still at work after a minute. */
  async settled(id: string): Promise<void> {
    const daemon = this.daemons.get(id);
    if (!daemon) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), settleTimeoutMs)));
    const code = await Promise.race([daemon.exited, late]).finally(() => clearTimeout(timer));
    if (code === 0) return;
    const what = code === 'late' ? `is still copying its memory in after ${settleTimeoutMs / 1000} s` : `failed (exit status ${code}): memory it had not copied in may read as zeros`;
    throw new Error(`the lazy restore of sandbox ${id} ${what}; it cannot be checkpointed${await logErrors(daemon.log)}`);
  }

  /** Ends the daemon of a restore that failed or of a sandbox whose processes are ending. */
  async stop(id: string): Promise<void> {
    const daemon = this.daemons.get(id);
    if (!daemon) return;
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    this.daemons.delete(id);
  }
}

/** The daemon's first error lines and where its log is. */
async function logErrors(log: string): Promise<string> {
  const text = await readFile(log, 'utf8').catch(() => '');
  const lines = text.split('\n').filter((l) => l.includes('Error')).slice(0, 3).map((l) => l.replace(/^\([\d.]+\)\s*/, ''));
  return `${lines.length ? `: ${lines.join(' | ')}` : ''} (log: ${log})`;
}
