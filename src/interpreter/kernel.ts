// What a context needs from the process that runs its code, whatever the language: one kernel
// process per context, so that a busy or dead kernel never holds up another context.
import type { ChildProcess } from 'node:child_process';
import { lookupUser } from '../envd/users.js';
import type { OutputEvent } from './events.js';
import type { EnvChange } from './global-envs.js';

/** What the interpreter runs: its own kernels first, then those it finds as kernelspecs (kernelspecs.ts). */
export const languages = ['python', 'javascript', 'typescript', 'bash', 'r', 'java'] as const;
export type Language = (typeof languages)[number];

/** The language a request names, or undefined when it names none we run. */
export function normalizeLanguage(name: string): Language | undefined {
  const lower = name.trim().toLowerCase();
  const aliased = lower === 'js' ? 'javascript' : lower === 'ts' ? 'typescript' : lower;
  return (languages as readonly string[]).includes(aliased) ? (aliased as Language) : undefined;
}

export type Sink = (event: OutputEvent) => void;

export interface KernelExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the kernel process wrote to its own stderr (a crash's own words). */
  stderrTail: string;
}

/** Thrown by execute() when the kernel process ended before the code did. */
export class KernelDiedError extends Error {
  constructor(readonly exit: KernelExit) {
    super(describeExit(exit));
    this.name = 'KernelDiedError';
  }
}

export function describeExit(exit: KernelExit): string {
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return `the kernel process ${how}${exit.stderrTail ? `: ${exit.stderrTail.trim()}` : ''}`;
}

export interface Kernel {
  /** Resolves when code can run; rejects when the kernel could not start. */
  readonly ready: Promise<void>;
  /** Resolves (once) when the kernel process has ended, for whatever reason. */
  readonly exited: Promise<KernelExit>;
  /** Runs one cell, sending its output to `sink` as it comes. Resolves with the execution count
   *  (undefined where the language has none) when the cell is done; rejects with KernelDiedError. */
  execute(code: string, sink: Sink): Promise<number | undefined>;
  /** Changes the kernel's environment before whatever runs next (ordered with execute calls). */
  changeEnv(change: EnvChange): void;
  /** Asks the running code to stop, as Ctrl-C would. */
  interrupt(): void;
  /** Ends the kernel process now. */
  kill(): void;
}

/** Who kernels run as and with which base environment. */
export interface KernelIdentity {
  uid?: number;
  gid?: number;
  home: string;
  user: string;
  shell: string;
}

/** The sandbox's `user` (the hosted products run code as this user), or the server's own identity
 *  where there is no such user (e.g. tests on a developer machine). */
export function lookupIdentity(name: string): KernelIdentity {
  const user = lookupUser(name);
  if (user) return { uid: user.uid, gid: user.gid, home: user.home, user: user.name, shell: user.shell };
  return { home: process.env.HOME ?? '/', user: process.env.USER ?? 'root', shell: '/bin/sh' };
}

/** The environment a kernel process starts with: a login-like base plus the sandbox-wide variables. */
export function kernelEnv(identity: KernelIdentity, cwd: string, globals: Readonly<Record<string, string>>): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: identity.home,
    USER: identity.user,
    LOGNAME: identity.user,
    SHELL: identity.shell,
    LANG: 'C.UTF-8',
    PWD: cwd,
    ...globals,
  };
}

/** Calls `onEnd` once the process has ended: at 'close' (all its output read), or shortly after
 *  'exit' when a process it left behind (`sleep 999 &` in a shell) still holds its pipes open. */
export function whenProcessEnds(child: ChildProcess, onEnd: (code: number | null, signal: NodeJS.Signals | null) => void): void {
  let done = false;
  const finish = (code: number | null, signal: NodeJS.Signals | null) => {
    if (done) return;
    done = true;
    onEnd(code, signal);
  };
  child.on('close', finish);
  child.on('exit', (code, signal) => setTimeout(() => finish(code, signal), 100));
  // A process that could not be spawned at all gets 'error' and possibly no 'exit'.
  child.on('error', () => {
    if (child.pid === undefined) setTimeout(() => finish(null, null), 100);
  });
}

/** Sends a signal to a process (or, with a negative id, a process group) that may have just ended. */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Keeps the last few KiB a process wrote, for the message when it dies. */
export class TailBuffer {
  private text = '';
  constructor(private readonly max = 2048) {}
  push(chunk: Buffer | string): void {
    this.text = (this.text + chunk.toString()).slice(-this.max);
  }
  clear(): void {
    this.text = '';
  }
  toString(): string {
    return this.text;
  }
}
