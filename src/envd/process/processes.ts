// The processes envd started: spawning them as their user, fanning their output out to every
// attached stream, and reporting how they ended. Output is not kept for streams that attach
// later; a process keeps running when all its streams go away.
import { existsSync } from 'node:fs';
import { Channel } from '../channel.js';
import { CharacterBoundary } from './character-boundary.js';
import { envdLog } from '../envd-log.js';
import { freedMemory } from '../freed-memory.js';
import { endInfo, signalNumber, type EndInfo } from './exit-status.js';
import { ptyChild, ptyLaunch, type PtySize } from './pty.js';
import { launch, type Launched } from './spawner.js';
import { state } from '../state.js';
import type { User } from '../users.js';

export type ProcEvent =
  | { kind: 'data'; stream: 'stdout' | 'stderr' | 'pty'; data: Uint8Array }
  | { kind: 'end'; end: EndInfo };

export interface ProcConfig {
  cmd: string;
  args: string[];
  envs: Record<string, string>;
  cwd?: string;
}

export interface StartOptions {
  config: ProcConfig;
  user: User;
  /** Absolute, existing working directory. */
  cwd: string;
  tag?: string;
  stdin: boolean;
  pty?: PtySize;
  /** Kill the process after this long (the Start call's Connect-Timeout-Ms), 0 = never. */
  timeoutMs: number;
}

const basePath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// A subscriber this many chunks behind pauses the process's output until it catches up.
const highWater = 64;
const lowWater = 8;
// After the process exits, output still in the pipes is read until it has been quiet this long;
// background children that inherited the pipes must not hold the end event back.
const drainQuietMs = 50;
// The unfinished character at a read's end waits this long for the rest of its bytes
// (character-boundary.ts): a writer that stops in the middle of a character writes no text, and
// a busy machine may leave the rest of a text unwritten for tens of milliseconds (10 split one).
const heldQuietMs = 100;

const table = new Map<number, Proc>();

export class Proc {
  private readonly subscribers = new Set<Channel<ProcEvent>>();
  private stdin: NodeJS.WritableStream | null;
  private ended: EndInfo | undefined;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private openOutputs = 2;
  private paused = false;
  private quietTimer: NodeJS.Timeout | undefined;
  private heldTimer: NodeJS.Timeout | undefined;
  private readonly boundaries: Array<{ stream: 'stdout' | 'stderr' | 'pty'; boundary: CharacterBoundary }> = [];
  private killTimer: NodeJS.Timeout | undefined;
  private sentSignal: NodeJS.Signals | undefined;

  constructor(
    readonly pid: number,
    readonly config: ProcConfig,
    readonly tag: string | undefined,
    readonly isPty: boolean,
    private readonly child: Launched,
    timeoutMs: number,
  ) {
    this.stdin = child.stdin;
    const kind = isPty ? 'pty' : undefined;
    for (const [stream, name] of [[child.stdout, kind ?? 'stdout'], [child.stderr, kind ?? 'stderr']] as const) {
      const boundary = new CharacterBoundary();
      this.boundaries.push({ stream: name, boundary });
      stream!.on('data', (chunk: Buffer) => this.emitWhole(name, boundary, chunk));
      stream!.once('end', () => {
        const held = boundary.release();
        if (held) this.emit(name, held);
        this.outputClosed();
      });
      stream!.on('error', () => undefined);
    }
    child.stdin?.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      this.exit = { code, signal };
      envdLog(code === 0 ? 'info' : 'warn', `process ${pid} ended: ${signal ? `killed by ${signal}` : `exit status ${code}`}`, { pid, exitCode: code ?? undefined, signal: signal ?? undefined });
      this.settle();
    });
    if (timeoutMs > 0) this.killTimer = setTimeout(() => void this.signal('SIGKILL'), timeoutMs);
  }

  /** A new stream of this process's events from now on (just the end when it already ended). */
  subscribe(): Channel<ProcEvent> {
    const channel = new Channel<ProcEvent>();
    if (this.ended) {
      channel.push({ kind: 'end', end: this.ended });
      channel.close();
      return channel;
    }
    channel.onTake = () => this.resumeIfCaughtUp();
    this.subscribers.add(channel);
    return channel;
  }

  unsubscribe(channel: Channel<ProcEvent>): void {
    this.subscribers.delete(channel);
    this.resumeIfCaughtUp();
  }

  writeInput(data: Uint8Array): void {
    if (!this.stdin) throw new Error('stdin is not enabled or already closed');
    this.stdin.write(data);
  }

  closeStdin(): void {
    this.stdin?.end();
    this.stdin = null;
  }

  /** Signals the whole process group (and, for a pty, the terminal's session). */
  async signal(signal: NodeJS.Signals): Promise<void> {
    this.sentSignal = signal;
    const inner = this.isPty ? await ptyChild(this.pid) : undefined;
    for (const pid of [inner, this.pid]) {
      if (pid === undefined) continue;
      try {
        process.kill(-pid, signal);
      } catch {
        try {
          process.kill(pid, signal);
        } catch {
          // Already gone.
        }
      }
    }
  }

  private emitWhole(stream: 'stdout' | 'stderr' | 'pty', boundary: CharacterBoundary, chunk: Buffer): void {
    const data = boundary.take(chunk);
    if (data.length > 0) this.emit(stream, data);
    if (boundary.holding) {
      clearTimeout(this.heldTimer);
      this.heldTimer = setTimeout(() => this.releaseHeld(), heldQuietMs);
    }
  }

  /** The bytes of unfinished characters, sent as they are. */
  private releaseHeld(): void {
    clearTimeout(this.heldTimer);
    for (const { stream, boundary } of this.boundaries) {
      const held = boundary.release();
      if (held) this.emit(stream, held);
    }
  }

  private emit(stream: 'stdout' | 'stderr' | 'pty', data: Buffer): void {
    for (const channel of this.subscribers) channel.push({ kind: 'data', stream, data });
    if (!this.paused && [...this.subscribers].some((c) => c.length >= highWater)) {
      this.paused = true;
      this.child.stdout?.pause();
      this.child.stderr?.pause();
    }
    if (this.exit) this.armQuietTimer();
  }

  private resumeIfCaughtUp(): void {
    if (!this.paused || [...this.subscribers].some((c) => c.length > lowWater)) return;
    this.paused = false;
    this.child.stdout?.resume();
    this.child.stderr?.resume();
  }

  private outputClosed(): void {
    this.openOutputs--;
    this.settle();
  }

  private settle(): void {
    if (!this.exit || this.ended) return;
    if (this.openOutputs === 0) this.finish();
    else this.armQuietTimer();
  }

  private armQuietTimer(): void {
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => {
      // A paused output still holds data for a slow stream: wait for it rather than cut it off.
      if (this.paused) return this.armQuietTimer();
      this.child.stdout?.destroy();
      this.child.stderr?.destroy();
      this.finish();
    }, drainQuietMs);
  }

  private finish(): void {
    if (this.ended || !this.exit) return;
    this.releaseHeld();
    clearTimeout(this.quietTimer);
    clearTimeout(this.killTimer);
    let { code, signal } = this.exit;
    // `script -e` reports a child killed by signal N as status 128+N.
    if (this.isPty && this.sentSignal && code === 128 + signalNumber(this.sentSignal)) {
      code = null;
      signal = this.sentSignal;
    }
    this.ended = endInfo(code, signal);
    table.delete(this.pid);
    freedMemory.releaseSoon();
    for (const channel of this.subscribers) {
      channel.push({ kind: 'end', end: this.ended });
      channel.close();
    }
    this.subscribers.clear();
  }
}

function environment(user: User, envs: Record<string, string>, pty: boolean): Record<string, string> {
  return {
    PATH: basePath,
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: user.shell,
    LANG: 'C.UTF-8',
    ...(pty ? { TERM: 'xterm-256color', LC_ALL: 'C.UTF-8' } : {}),
    ...state.envVars,
    ...envs,
  };
}

/** The SDKs run commands as `/bin/bash -l -c …` (and terminals as `/bin/bash -i -l`); an image
 *  without bash (Alpine, busybox) runs them with its /bin/sh, which takes the same options. */
function commandFile(cmd: string): string {
  return cmd === '/bin/bash' && !existsSync(cmd) && existsSync('/bin/sh') ? '/bin/sh' : cmd;
}

/**
 * Spawns the process in its own process group (so signals reach its children) with pipes that
 * envd owns. Resolves once it runs, with a subscription made before any output could arrive.
 */
export async function startProcess(opts: StartOptions): Promise<{ proc: Proc; events: Channel<ProcEvent> }> {
  const { config, user } = opts;
  freedMemory.releaseWaiting();
  let file = commandFile(config.cmd);
  let args = config.args;
  let env = environment(user, config.envs, opts.pty !== undefined);
  if (opts.pty) ({ file, args, env } = ptyLaunch([file, ...args], env, opts.pty));

  const ownIds = user.uid === process.getuid?.() && user.gid === process.getgid?.();
  const child = await launch({
    file,
    args,
    env,
    cwd: opts.cwd,
    stdin: opts.stdin || opts.pty !== undefined,
    ids: ownIds ? undefined : { uid: user.uid, gid: user.gid, groups: user.groups },
  });
  const proc = new Proc(child.pid!, config, opts.tag, opts.pty !== undefined, child, opts.timeoutMs);
  table.set(proc.pid, proc);
  const command = [config.cmd, ...config.args].join(' ');
  envdLog('info', `process ${proc.pid} started: ${command.length > 300 ? `${command.slice(0, 300)}…` : command}`, {
    pid: proc.pid,
    user: user.name,
    cwd: opts.cwd,
    tag: opts.tag,
    pty: opts.pty ? 'yes' : undefined,
  });
  return { proc, events: proc.subscribe() };
}

export function findProcess(selector: { case: 'pid'; value: number } | { case: 'tag'; value: string } | { case: undefined }): Proc | undefined {
  if (selector.case === 'pid') return table.get(selector.value);
  if (selector.case === 'tag') return [...table.values()].find((p) => p.tag === selector.value);
  return undefined;
}

export function runningProcesses(): Proc[] {
  return [...table.values()];
}
