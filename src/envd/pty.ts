// Pseudo-terminals without a native addon: the command runs under util-linux `script`, which owns
// the pty pair and relays between its own stdio pipes (ours) and the terminal. The terminal size
// is set with `stty` on the child's pts, which also delivers SIGWINCH to the foreground job.
import { execFile } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import { shellQuote, tool } from './tools.js';

export interface PtySize {
  cols: number;
  rows: number;
}

function sttySize(size: PtySize | undefined): string {
  return size && size.cols > 0 && size.rows > 0 ? `cols ${size.cols} rows ${size.rows}` : '';
}

/**
 * How to launch `argv` in a new pty: `script` runs its command with `$SHELL -c`, so it gets /bin/sh
 * and the command restores the real SHELL, sizes the terminal, then execs `argv`.
 */
export function ptyLaunch(argv: string[], env: Record<string, string>, size: PtySize | undefined) {
  const script = tool('script');
  if (!script) throw new Error('util-linux `script` is not installed in this sandbox; pty is unavailable');
  const steps: string[] = [];
  if (env.SHELL !== undefined) steps.push(`SHELL=${shellQuote(env.SHELL)}; export SHELL`);
  const dims = sttySize(size);
  if (dims) steps.push(`stty ${dims} 2>/dev/null`);
  steps.push(`exec ${argv.map(shellQuote).join(' ')}`);
  return {
    file: script,
    // -q: no banner, -f: flush every write, -e: exit with the child's status.
    args: ['-qfec', steps.join('; '), '/dev/null'],
    env: { ...env, SHELL: '/bin/sh' },
  };
}

/** The process `script` started (the session leader of the terminal), if it is still there. */
export async function ptyChild(scriptPid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${scriptPid}/task/${scriptPid}/children`, 'utf8').catch(() => '');
  const first = Number(text.trim().split(/\s+/)[0]);
  return Number.isInteger(first) && first > 0 ? first : undefined;
}

export async function resizePty(scriptPid: number, size: PtySize): Promise<void> {
  const dims = sttySize(size);
  if (!dims) throw new Error('terminal size needs positive cols and rows');
  const child = await ptyChild(scriptPid);
  if (child === undefined) throw new Error(`process ${scriptPid} has no terminal session`);
  const pts = await readlink(`/proc/${child}/fd/0`);
  const stty = tool('stty');
  if (!stty || !pts.startsWith('/dev/pts/')) throw new Error(`cannot resize the terminal of process ${scriptPid}`);
  await new Promise<void>((resolve, reject) => {
    execFile(stty, ['-F', pts, ...dims.split(' ')], (err) => (err ? reject(err) : resolve()));
  });
}
