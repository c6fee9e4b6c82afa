// Pseudo-terminals without a native addon: the command runs under util-linux `script`, which owns
// the pty pair and relays between its own stdio pipes (ours) and the terminal. The terminal size
// is set with `stty` on the child's pts, which also delivers SIGWINCH to the foreground job.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
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

// Devices of the Unix 98 pty slaves (/dev/pts/N): majors 136 to 143, 256 minors each.
const ptsFirstMajor = 136;
const ptsMajors = 8;

/** The /dev/pts path of the controlling terminal of `pid`, from `tty_nr` in /proc/<pid>/stat.
 *  That file is readable for any process, unlike /proc/<pid>/fd of a process of another user,
 *  which needs CAP_SYS_PTRACE (not granted in a sandbox). */
export async function controllingPts(pid: number): Promise<string | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The command name may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ttyNr = Number(fields[4]);
  if (!Number.isInteger(ttyNr) || ttyNr <= 0) return undefined;
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major < ptsFirstMajor || major >= ptsFirstMajor + ptsMajors) return undefined;
  return `/dev/pts/${(major - ptsFirstMajor) * 256 + minor}`;
}

export async function resizePty(scriptPid: number, size: PtySize): Promise<void> {
  const dims = sttySize(size);
  if (!dims) throw new Error('terminal size needs positive cols and rows');
  const child = await ptyChild(scriptPid);
  if (child === undefined) throw new Error(`process ${scriptPid} has no terminal session`);
  const pts = await controllingPts(child);
  const stty = tool('stty');
  if (!stty || !pts) throw new Error(`cannot resize the terminal of process ${scriptPid}: it has no pseudo-terminal`);
  await new Promise<void>((resolve, reject) => {
    execFile(stty, ['-F', pts, ...dims.split(' ')], (err) => (err ? reject(err) : resolve()));
  });
}
