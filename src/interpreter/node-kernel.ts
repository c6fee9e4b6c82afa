// A JavaScript or TypeScript context: a Node process (the sandbox's /opt/sandcastle/node running
// interpreter-js-kernel.mjs) that runs cells prepared here. TypeScript is first stripped to
// JavaScript by esbuild (typescript.ts; its binary ships beside the bundle).
import { spawn, type ChildProcess } from 'node:child_process';
import { errorEvent, logEvent, resultEvent } from './events.js';
import type { EnvChange } from './global-envs.js';
import { CellSyntaxError, prepareJsCell } from './js-cell.js';
import type { FromKernel, ToKernel } from './js-kernel-child.js';
import { KernelDiedError, TailBuffer, whenProcessEnds, type Kernel, type KernelExit, type KernelIdentity, type Sink } from './kernel.js';
import { startTypeStripping, stripTypes } from './typescript.js';

export interface NodeKernelOptions {
  node: string;
  script: string;
  /** esbuild binary, for TypeScript contexts. */
  esbuild: string;
  typescript: boolean;
  cwd: string;
  env: Record<string, string>;
  identity: KernelIdentity;
}

interface Running {
  id: number;
  sink: Sink;
  resolve(count: number): void;
  reject(err: Error): void;
}

export class NodeKernel implements Kernel {
  readonly ready: Promise<void>;
  readonly exited: Promise<KernelExit>;
  private readonly child: ChildProcess;
  private running: Running | undefined;
  private count = 0;
  private exit: KernelExit | undefined;

  constructor(private readonly opts: NodeKernelOptions) {
    const stderrTail = new TailBuffer();
    this.child = spawn(opts.node, [opts.script], {
      cwd: opts.cwd,
      env: opts.env,
      uid: opts.identity.uid,
      gid: opts.identity.gid,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    // Output that bypasses the kernel's own streams (a child process of the cell) still belongs
    // to the running cell.
    // Decoded as streams: a character whose bytes two reads split stays whole.
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.running?.sink(logEvent('stdout', chunk)));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderrTail.push(chunk);
      this.running?.sink(logEvent('stderr', chunk));
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => stderrTail.push(err.message));
      whenProcessEnds(this.child, (code, signal) => {
        this.exit = { code, signal, stderrTail: stderrTail.toString() };
        this.running?.reject(new KernelDiedError(this.exit));
        this.running = undefined;
        resolve(this.exit);
      });
    });
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (message: FromKernel) => {
        if (message.type === 'ready') resolve();
        else this.onMessage(message);
      });
      void this.exited.then((exit) => reject(new KernelDiedError(exit)));
    });
    // Started while the kernel starts, not on the first cell's clock.
    if (opts.typescript) startTypeStripping(opts.esbuild);
  }

  private onMessage(message: FromKernel): void {
    const run = this.running;
    if (!run) return;
    switch (message.type) {
      case 'log':
        run.sink(logEvent(message.stream, message.text));
        break;
      case 'result':
        if (message.id === run.id) run.sink(resultEvent(message.bundle, true));
        break;
      case 'error':
        if (message.id === run.id) run.sink(errorEvent(message.name, message.value, message.traceback));
        break;
      case 'done':
        if (message.id === run.id) {
          this.running = undefined;
          run.resolve(run.id);
        }
        break;
    }
  }

  async execute(code: string, sink: Sink): Promise<number | undefined> {
    if (this.exit) throw new KernelDiedError(this.exit);
    const id = ++this.count;
    let script: string;
    let hasValue: boolean;
    try {
      const js = this.opts.typescript ? await stripTypes(this.opts.esbuild, code) : code;
      ({ script, hasValue } = prepareJsCell(js));
    } catch (err) {
      if (!(err instanceof CellSyntaxError)) throw err;
      sink(errorEvent(err.name, err.message, syntaxFrame(code, err)));
      return id;
    }
    return new Promise((resolve, reject) => {
      this.running = { id, sink, resolve, reject };
      this.post({ type: 'exec', id, script, hasValue });
    });
  }

  changeEnv(change: EnvChange): void {
    this.post({ type: 'env', set: change.set, unset: change.unset });
  }

  private post(message: ToKernel): void {
    if (this.child.connected) this.child.send(message);
  }

  interrupt(): void {
    if (!this.exit) this.child.kill('SIGINT');
  }

  kill(): void {
    if (!this.exit) this.child.kill('SIGKILL');
  }
}

/** The offending line with a caret under the column, as a traceback for a syntax error. */
function syntaxFrame(code: string, err: CellSyntaxError): string {
  const line = code.split('\n')[err.line - 1] ?? '';
  return `${line}\n${' '.repeat(err.column)}^\n\n${err.name}: ${err.message}`;
}
