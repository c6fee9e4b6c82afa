// A Bash context: one long-lived bash (as the context's user) that keeps variables, functions and
// the working directory between cells. Each cell is sourced from a process substitution with
// stdin from /dev/null, so the shell's own stdin stays the command channel. When it is done, the
// shell writes a marker with the exit status to copies of its original stdout and stderr made at
// start: output on a stream has all arrived once that stream's marker has, even when the cell
// redirected the shell's streams. A cell ending in a non-zero status gets an `error` event.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { errorEvent, logEvent } from './events.js';
import type { EnvChange } from './global-envs.js';
import { KernelDiedError, TailBuffer, whenProcessEnds, signalProcess, type Kernel, type KernelExit, type KernelIdentity, type Sink } from './kernel.js';

export interface BashKernelOptions {
  cwd: string;
  env: Record<string, string>;
  identity: KernelIdentity;
}

/** `$'…'` quoting: any bytes, one line. */
export function bashQuote(text: string): string {
  let out = "$'";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\' || ch === "'") out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + "'";
}

const shellName = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface Running {
  sink: Sink;
  seen: { stdout: boolean; stderr: boolean };
  status?: number;
  resolve(count: number): void;
  reject(err: Error): void;
}

/** Splits a stream into output and end-of-cell markers, holding back a possible marker prefix. */
export class MarkerScanner {
  private held = '';
  constructor(private readonly marker: string, private readonly onText: (text: string) => void, private readonly onMarker: (status: string) => void) {}

  push(chunk: string): void {
    let text = this.held + chunk;
    this.held = '';
    for (;;) {
      const at = text.indexOf(this.marker);
      if (at === -1) break;
      const end = text.indexOf('\x1f', at + this.marker.length);
      if (end === -1) break;
      if (at > 0) this.onText(text.slice(0, at));
      this.onMarker(text.slice(at + this.marker.length, end));
      text = text.slice(end + 1);
    }
    // Keep back what could be the start of a marker split across reads.
    const start = text.lastIndexOf('\x1f');
    const keep = start === -1 ? '' : text.slice(start);
    if (keep.length > 0 && keep.length < this.marker.length + 16 && (this.marker.startsWith(keep) || keep.startsWith(this.marker))) {
      this.held = keep;
      text = text.slice(0, start);
    }
    if (text) this.onText(text);
  }
}

export class BashKernel implements Kernel {
  readonly ready: Promise<void>;
  readonly exited: Promise<KernelExit>;
  private readonly child: ChildProcess;
  private readonly marker = `\x1fsandcastle-${randomBytes(8).toString('hex')}:`;
  private running: Running | undefined;
  private count = 0;
  private exit: KernelExit | undefined;

  constructor(opts: BashKernelOptions) {
    const stderrTail = new TailBuffer();
    // Own process group, so that an interrupt reaches the cell's commands as Ctrl-C would.
    this.child = spawn('/bin/bash', ['--noprofile', '--norc'], {
      cwd: opts.cwd,
      env: opts.env,
      uid: opts.identity.uid,
      gid: opts.identity.gid,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdin!.on('error', () => {});
    const scanner = (stream: 'stdout' | 'stderr') =>
      new MarkerScanner(
        this.marker,
        (text) => this.running?.sink(logEvent(stream, text)),
        (status) => this.onMarker(stream, status),
      );
    const out = scanner('stdout');
    const err = scanner('stderr');
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => out.push(chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderrTail.push(chunk);
      err.push(chunk);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e) => stderrTail.push(e.message));
      whenProcessEnds(this.child, (code, signal) => {
        this.exit = { code, signal, stderrTail: stderrTail.toString() };
        this.running?.reject(new KernelDiedError(this.exit));
        this.running = undefined;
        resolve(this.exit);
      });
    });
    // An interrupt returns from the sourced cell (a trap may `return` from `source`); the shell
    // itself lives on.
    this.write(`exec {__sandcastle_out}>&1 {__sandcastle_err}>&2; trap 'return 130 2>/dev/null' INT`);
    // The probe that tells the shell is up counts as cell 0.
    this.count = -1;
    this.ready = this.execute(':', () => {}).then(() => undefined);
  }

  private write(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  private onMarker(stream: 'stdout' | 'stderr', status: string): void {
    const run = this.running;
    if (!run) return;
    run.seen[stream] = true;
    if (stream === 'stdout') run.status = Number(status);
    if (!run.seen.stdout || !run.seen.stderr) return;
    this.running = undefined;
    if (run.status) run.sink(errorEvent('ExitCode', String(run.status), `the last command of the cell exited with status ${run.status}`));
    run.resolve(this.count);
  }

  execute(code: string, sink: Sink): Promise<number | undefined> {
    if (this.exit) return Promise.reject(new KernelDiedError(this.exit));
    this.count++;
    return new Promise((resolve, reject) => {
      this.running = { sink, seen: { stdout: false, stderr: false }, resolve, reject };
      const marker = bashQuote(this.marker);
      this.write(
        `source <(printf '%s\\n' ${bashQuote(code)}) </dev/null; __sandcastle_status=$?; ` +
          `printf '%s%s\\x1f' ${marker} "$__sandcastle_status" >&$__sandcastle_out; printf '%s\\x1f' ${marker} >&$__sandcastle_err`,
      );
    });
  }

  changeEnv(change: EnvChange): void {
    const parts: string[] = [];
    for (const [key, value] of Object.entries(change.set)) if (shellName.test(key)) parts.push(`export ${key}=${bashQuote(value)}`);
    for (const key of change.unset) if (shellName.test(key)) parts.push(`unset ${key}`);
    if (parts.length) this.write(parts.join('; '));
  }

  interrupt(): void {
    if (!this.exit && this.child.pid !== undefined) signalProcess(-this.child.pid, 'SIGINT');
  }

  kill(): void {
    if (!this.exit && this.child.pid !== undefined) signalProcess(-this.child.pid, 'SIGKILL');
  }
}
