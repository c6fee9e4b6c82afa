// A context whose kernel speaks Jupyter's protocol: Python (Debian's ipykernel, started by
// python/kernel_launch.py) or a kernel installed with a kernelspec (R's IRkernel), reached through
// the shared bridge over unix sockets inside the sandbox.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errorEvent, logEvent, resultEvent } from './events.js';
import type { EnvChange } from './global-envs.js';
import { KernelDiedError, TailBuffer, whenProcessEnds, signalProcess, type Kernel, type KernelExit, type KernelIdentity, type Sink } from './kernel.js';
import type { BridgeClient, KernelConnection, KernelMessage, PythonBridge } from './python-bridge.js';

export interface JupyterKernelOptions {
  bridge: PythonBridge;
  /** The kernel's command line; `{connection_file}` stands for the connection file (kernelspec style). */
  argv: readonly string[];
  /** How the kernel is interrupted (a kernelspec's interrupt_mode): SIGINT, or a control message. */
  interruptMode: 'signal' | 'message';
  /** Code in the kernel's language that applies an environment change; undefined where the
   *  language cannot change its own environment. */
  envCode(change: EnvChange): string | undefined;
  /** Folder for the kernel's connection file and sockets (one sub-folder per kernel). */
  runDir: string;
  cwd: string;
  env: Record<string, string>;
  identity: KernelIdentity;
}

interface Running {
  msgId: string;
  sink: Sink;
  replied: boolean;
  idle: boolean;
  errored: boolean;
  executionCount?: number;
  resolve(count: number | undefined): void;
  reject(err: Error): void;
}

/** How soon to ask again when the kernel answered but iopub did not deliver its status yet. */
const reprobeMs = 10;

export class JupyterKernel implements Kernel, BridgeClient {
  readonly ready: Promise<void>;
  readonly exited: Promise<KernelExit>;
  private readonly key = randomUUID();
  private readonly dir: string;
  private readonly pid: number | undefined;
  private running: Running | undefined;
  private readonly probes = new Set<string>();
  private markReady!: () => void;
  private exit: KernelExit | undefined;
  private readonly stderr = new TailBuffer();

  constructor(private readonly opts: JupyterKernelOptions) {
    this.dir = path.join(opts.runDir, this.key);
    const conn = this.writeConnectionFile();
    const stderr = this.stderr;
    const connectionFile = path.join(this.dir, 'kernel.json');
    const [command, ...args] = opts.argv.map((arg) => arg.replaceAll('{connection_file}', connectionFile));
    const child = spawn(command!, args, {
      cwd: opts.cwd,
      env: opts.env,
      uid: opts.identity.uid,
      gid: opts.identity.gid,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.pid = child.pid;
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    this.exited = new Promise((resolve) => {
      child.on('error', (err) => stderr.push(err.message));
      whenProcessEnds(child, (code, signal) => {
        this.exit = { code, signal, stderrTail: stderr.toString() };
        this.cleanUp();
        this.running?.reject(new KernelDiedError(this.exit));
        this.running = undefined;
        resolve(this.exit);
      });
    });
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = () => {
        // From here on a death's own words are what matters, not the start's chatter.
        stderr.clear();
        resolve();
      };
      void this.exited.then((exit) => reject(new KernelDiedError(exit)));
    });
    opts.bridge.attach(this.key, conn, this);
    this.probe();
  }

  private writeConnectionFile(): KernelConnection {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const conn: KernelConnection = {
      transport: 'ipc',
      ip: path.join(this.dir, 'k'),
      shell_port: 1,
      iopub_port: 2,
      stdin_port: 3,
      control_port: 4,
      hb_port: 5,
      key: randomBytes(16).toString('hex'),
      signature_scheme: 'hmac-sha256',
    };
    const file = path.join(this.dir, 'kernel.json');
    writeFileSync(file, JSON.stringify(conn), { mode: 0o600 });
    const { uid, gid } = this.opts.identity;
    if (uid !== undefined && gid !== undefined) {
      chownSync(this.dir, uid, gid);
      chownSync(file, uid, gid);
    }
    return conn;
  }

  /** Asks the kernel whether it is up. One request is enough while the kernel is starting: it
   *  waits in the socket until the kernel reads it. But a kernel that answers on shell may not be
   *  publishing to us on iopub yet (a SUB socket only gets what is sent after it connected), so a
   *  reply without the request's status on iopub means: ask again. */
  private probe(): void {
    const id = randomUUID();
    this.probes.add(id);
    this.opts.bridge.send(this.key, 'shell', id, 'kernel_info_request', {});
  }

  onMessage(msg: KernelMessage): void {
    const parent = msg.parent ?? '';
    if (this.probes.has(parent)) {
      if (msg.ch === 'iopub') {
        this.probes.clear();
        this.markReady();
      } else if (msg.type === 'kernel_info_reply') {
        setTimeout(() => this.probes.size > 0 && this.probe(), reprobeMs);
      }
      return;
    }
    const run = this.running;
    if (!run || parent !== run.msgId) {
      // Output of the environment changes (silent executions) is of no interest unless it failed.
      if (msg.type === 'error') console.error(`interpreter: environment change failed: ${JSON.stringify(msg.content)}`);
      return;
    }
    const c = msg.content;
    switch (msg.type) {
      case 'stream':
        run.sink(logEvent(c.name === 'stderr' ? 'stderr' : 'stdout', String(c.text ?? '')));
        break;
      case 'execute_result':
        run.sink(resultEvent((c.data ?? {}) as Record<string, unknown>, true));
        break;
      case 'display_data':
      case 'update_display_data':
        run.sink(resultEvent((c.data ?? {}) as Record<string, unknown>, false));
        break;
      case 'error':
        if (!run.errored) {
          run.errored = true;
          run.sink(errorEvent(String(c.ename ?? 'Error'), String(c.evalue ?? ''), tracebackOf(c.traceback)));
        }
        break;
      case 'execute_input':
        run.executionCount = Number(c.execution_count);
        break;
      case 'execute_reply':
        run.replied = true;
        if (typeof c.execution_count === 'number') run.executionCount = c.execution_count;
        if (c.status === 'aborted' && !run.errored) {
          run.errored = true;
          run.sink(errorEvent('ExecutionAborted', 'the kernel aborted this execution'));
        } else if (c.status === 'error' && !run.errored) {
          run.errored = true;
          run.sink(errorEvent(String(c.ename ?? 'Error'), String(c.evalue ?? ''), tracebackOf(c.traceback)));
        }
        break;
      case 'status':
        if (msg.ch === 'iopub' && c.execution_state === 'idle') run.idle = true;
        break;
    }
    // Done when the reply is in and iopub went idle: everything the cell printed came before that.
    if (run.replied && run.idle) {
      this.running = undefined;
      run.resolve(run.executionCount);
    }
  }

  onBridgeLost(): void {
    // A kernel still starting cannot be reached: end it, so that its start fails with a reason and
    // the next execution tries a new kernel (and bridge) instead of this one waiting for ever.
    if (this.probes.size > 0) {
      this.stderr.push('the bridge to the kernel stopped while the kernel was starting');
      this.kill();
    }
    const run = this.running;
    if (!run) return;
    this.running = undefined;
    run.sink(errorEvent('InterpreterError', 'the connection to the kernel was lost while this code ran; its output may be incomplete'));
    run.resolve(run.executionCount);
  }

  execute(code: string, sink: Sink): Promise<number | undefined> {
    if (this.exit) return Promise.reject(new KernelDiedError(this.exit));
    return new Promise((resolve, reject) => {
      const msgId = randomUUID();
      this.running = { msgId, sink, replied: false, idle: false, errored: false, resolve, reject };
      // stop_on_error false: a failing cell must not abort the environment restore queued behind it.
      this.opts.bridge.send(this.key, 'shell', msgId, 'execute_request', {
        code,
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: false,
      });
    });
  }

  changeEnv(change: EnvChange): void {
    const code = this.opts.envCode(change);
    if (code === undefined) return;
    this.opts.bridge.send(this.key, 'shell', randomUUID(), 'execute_request', {
      code,
      silent: true,
      store_history: false,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: false,
    });
  }

  interrupt(): void {
    if (this.exit) return;
    // ipykernel's (and IRkernel's) mode is a signal: KeyboardInterrupt in the running code.
    if (this.opts.interruptMode === 'message') this.opts.bridge.send(this.key, 'control', randomUUID(), 'interrupt_request', {});
    else if (this.pid !== undefined) signalProcess(this.pid, 'SIGINT');
  }

  kill(): void {
    if (this.pid !== undefined && !this.exit) signalProcess(this.pid, 'SIGKILL');
  }

  private cleanUp(): void {
    this.opts.bridge.detach(this.key);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function tracebackOf(traceback: unknown): string {
  return Array.isArray(traceback) ? traceback.join('\n') : '';
}
