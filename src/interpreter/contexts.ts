// Code contexts: each has one kernel, runs its executions one at a time in arrival order, and keeps
// its kernel's environment in step with the sandbox-wide variables. A kernel that dies is replaced
// at once; the execution it took down gets an error, the next one a notice that state is gone.
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { errorEvent, logEvent, type OutputEvent } from './events.js';
import { envDiff, isEmptyChange, type GlobalEnvs } from './global-envs.js';
import { describeExit, KernelDiedError, type Kernel, type Language } from './kernel.js';

export interface ContextInfo {
  id: string;
  language: Language;
  cwd: string;
}

/** Where an execution's events go (the HTTP response). */
export interface ExecutionStream {
  send(event: OutputEvent): void;
  /** True once the client went away. */
  readonly closed: boolean;
  onClose(listener: () => void): void;
  end(): void;
}

export interface ContextsOptions {
  newKernel(language: Language, cwd: string, globals: Readonly<Record<string, string>>): Kernel;
  globals: GlobalEnvs;
  defaultCwd: string;
  /** How long interrupted code may take to stop before its kernel is replaced. */
  interruptGraceMs: number;
}

export class ContextError extends Error {
  constructor(readonly status: 400 | 404 | 500, message: string) {
    super(message);
  }
}

interface Context extends ContextInfo {
  /** Undefined until first needed, for a context made with `{ lazy: true }`. */
  kernel: Kernel | undefined;
  /** The sandbox-wide variables the kernel's environment holds. */
  applied: Readonly<Record<string, string>>;
  /** Settles when the last queued execution is done. */
  tail: Promise<void>;
  /** Told (on stderr) to the next execution: why its kernel is new. */
  notice?: string;
  deleted: boolean;
}

export class Contexts {
  private readonly byId = new Map<string, Context>();
  private readonly defaults = new Map<Language, string>();
  /** Kernels this server ended on purpose, with what to tell an execution they were running. */
  private readonly retired = new WeakMap<Kernel, { name: string; value: string }>();
  private readonly readyKernels = new WeakSet<Kernel>();

  constructor(private readonly opts: ContextsOptions) {}

  /** A new context. A lazy one starts its kernel when it first runs code (or is restarted), so a
   *  context that is listed but never used costs no process. */
  create(language: Language, cwd = this.opts.defaultCwd, { lazy = false } = {}): ContextInfo {
    let isDir = false;
    try {
      isDir = statSync(cwd).isDirectory();
    } catch {
      // reported below
    }
    if (!isDir) throw new ContextError(400, `cwd '${cwd}' is not a directory in the sandbox`);
    const id = randomUUID();
    const globals = this.opts.globals.current();
    const ctx: Context = { id, language, cwd, kernel: undefined, applied: globals, tail: Promise.resolve(), deleted: false };
    if (!lazy) this.startKernel(ctx, globals);
    this.byId.set(id, ctx);
    return info(ctx);
  }

  /** The context that runs code sent with only a language: made on first use, or ahead of it. */
  defaultFor(language: Language, { lazy = false } = {}): ContextInfo {
    const id = this.defaults.get(language);
    const ctx = id === undefined ? undefined : this.byId.get(id);
    if (ctx) return info(ctx);
    const made = this.create(language, this.opts.defaultCwd, { lazy });
    this.defaults.set(language, made.id);
    return made;
  }

  list(): ContextInfo[] {
    return [...this.byId.values()].map(info);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Whether the context's kernel can run code now (for readiness checks). */
  isReady(id: string): boolean {
    const kernel = this.find(id).kernel;
    return kernel !== undefined && this.readyKernels.has(kernel);
  }

  async restart(id: string): Promise<void> {
    const ctx = this.find(id);
    this.replaceKernel(ctx, { name: 'ContextRestarting', value: 'the context was restarted while this code ran' });
    try {
      await ctx.kernel!.ready;
    } catch (err) {
      throw new ContextError(500, `the context's new kernel did not start: ${(err as Error).message}`);
    }
  }

  remove(id: string): void {
    const ctx = this.find(id);
    ctx.deleted = true;
    this.byId.delete(id);
    for (const [language, defaultId] of this.defaults) if (defaultId === id) this.defaults.delete(language);
    if (ctx.kernel) {
      this.retired.set(ctx.kernel, { name: 'ContextDeleted', value: 'the context was deleted while this code ran' });
      ctx.kernel.kill();
    }
  }

  /** Kills every kernel (server shutdown). */
  close(): void {
    for (const id of [...this.byId.keys()]) this.remove(id);
  }

  private find(id: string): Context {
    const ctx = this.byId.get(id);
    if (!ctx) throw new ContextError(404, `Context ${id} not found`);
    return ctx;
  }

  private startKernel(ctx: Context, globals: Readonly<Record<string, string>>): Kernel {
    const kernel = this.opts.newKernel(ctx.language, ctx.cwd, globals);
    ctx.kernel = kernel;
    ctx.applied = globals;
    kernel.ready.then(
      () => this.readyKernels.add(kernel),
      () => {},
    );
    void kernel.exited.then((exit) => {
      // One that never started is retried by the next execution instead, so it cannot spin.
      if (ctx.deleted || ctx.kernel !== kernel || this.retired.has(kernel) || !this.readyKernels.has(kernel)) return;
      // It died on its own (os._exit, a crash, the OOM killer): the next execution gets a new one.
      ctx.notice =
        `The previous kernel of this context stopped (${describeExit({ ...exit, stderrTail: '' })}); ` +
        `this code runs in a new kernel, so variables, imports and definitions from before are gone.\n`;
      this.startKernel(ctx, this.opts.globals.current());
    });
    return kernel;
  }

  private replaceKernel(ctx: Context, reason: { name: string; value: string }): void {
    const old = ctx.kernel;
    if (old) {
      this.retired.set(old, reason);
      old.kill();
    }
    this.startKernel(ctx, this.opts.globals.current());
  }

  /** Runs code in a context, streaming to `out`; never rejects (errors become events). */
  async execute(id: string, code: string, envs: Readonly<Record<string, string>>, out: ExecutionStream): Promise<void> {
    const ctx = this.find(id);
    const previous = ctx.tail;
    let release!: () => void;
    ctx.tail = new Promise((resolve) => (release = resolve));
    try {
      await previous;
      if (out.closed) return;
      if (ctx.deleted) {
        out.send(errorEvent('ContextDeleted', `the context ${ctx.id} was deleted before this code ran`));
        out.send({ type: 'end_of_execution' });
        return;
      }
      await this.run(ctx, code, envs, out);
    } finally {
      release();
      out.end();
    }
  }

  private async run(ctx: Context, code: string, envs: Readonly<Record<string, string>>, out: ExecutionStream): Promise<void> {
    const kernel = ctx.kernel ?? this.startKernel(ctx, this.opts.globals.current());
    try {
      await kernel.ready;
    } catch (err) {
      out.send(errorEvent('KernelStartError', `the ${ctx.language} kernel did not start: ${(err as Error).message}`));
      out.send({ type: 'end_of_execution' });
      if (ctx.kernel === kernel) this.startKernel(ctx, this.opts.globals.current());
      return;
    }
    if (out.closed) return;
    if (ctx.notice) {
      out.send(logEvent('stderr', ctx.notice));
      ctx.notice = undefined;
    }

    const globals = this.opts.globals.current();
    const change = envDiff(ctx.applied, globals);
    if (!isEmptyChange(change)) kernel.changeEnv(change);
    ctx.applied = globals;
    const own = Object.keys(envs);
    if (own.length) kernel.changeEnv({ set: { ...envs }, unset: [] });

    let escalation: NodeJS.Timeout | undefined;
    let finished = false;
    out.onClose(() => {
      if (finished) return;
      kernel.interrupt();
      escalation = setTimeout(() => {
        if (!finished && ctx.kernel === kernel) {
          this.replaceKernel(ctx, { name: 'KeyboardInterrupt', value: 'the code did not stop when interrupted' });
          ctx.notice = 'The previous kernel of this context did not stop when interrupted and was replaced; variables, imports and definitions from before are gone.\n';
        }
      }, this.opts.interruptGraceMs);
    });

    try {
      const count = await kernel.execute(code, (event) => out.send(event));
      if (count !== undefined) out.send({ type: 'number_of_executions', execution_count: count });
      out.send({ type: 'end_of_execution' });
    } catch (err) {
      if (!(err instanceof KernelDiedError)) {
        out.send(errorEvent('InterpreterError', (err as Error).message));
        out.send({ type: 'end_of_execution' });
      } else {
        const reason = this.retired.get(kernel);
        if (reason) {
          out.send(errorEvent(reason.name, reason.value));
          out.send({ type: 'end_of_execution' });
        } else {
          out.send(
            errorEvent(
              'DeadKernelError',
              `The kernel died while running this code (${describeExit({ ...err.exit, stderrTail: '' })}); the next execution in this context starts a new kernel.`,
              err.exit.stderrTail,
            ),
          );
          out.send({ type: 'unexpected_end_of_execution' });
        }
      }
    } finally {
      finished = true;
      clearTimeout(escalation);
    }

    if (own.length && ctx.kernel === kernel) {
      // Back to the sandbox-wide value, or unset where there is none.
      kernel.changeEnv({
        set: Object.fromEntries(own.filter((k) => k in globals).map((k) => [k, globals[k]!])),
        unset: own.filter((k) => !(k in globals)),
      });
    }
  }
}

function info(ctx: Context): ContextInfo {
  return { id: ctx.id, language: ctx.language, cwd: ctx.cwd };
}
