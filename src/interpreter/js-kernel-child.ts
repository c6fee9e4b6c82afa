// The process behind a JavaScript or TypeScript context (bundled as interpreter-js-kernel.mjs and
// run by the sandbox's node as the context's user). It runs cells prepared by js-cell.ts in its own
// global scope, so state persists between cells, and talks to the interpreter server over the
// IPC channel: everything the cell writes to process.stdout/stderr goes there too, in order with
// its result, rather than through the raw pipes (which are only for child processes' output).
import { createRequire, isBuiltin } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import util from 'node:util';
import vm from 'node:vm';

export type ToKernel =
  | { type: 'exec'; id: number; script: string; hasValue: boolean }
  | { type: 'env'; set: Record<string, string>; unset: string[] };

export type FromKernel =
  | { type: 'ready' }
  | { type: 'log'; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'result'; id: number; bundle: Record<string, unknown> }
  | { type: 'error'; id: number; name: string; value: string; traceback: string }
  | { type: 'done'; id: number };

function send(message: FromKernel): void {
  process.send?.(message);
}

function capture(stream: 'stdout' | 'stderr'): void {
  const target = process[stream];
  target.write = ((chunk: string | Uint8Array, encoding?: unknown, cb?: unknown) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    send({ type: 'log', stream, text });
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  }) as typeof target.write;
}

/** Bare names resolve from the context's working directory (its node_modules), as they would for
 *  a script there; built-ins (`fs` as well as `node:fs`) and URLs load as they are. */
function resolveSpecifier(specifier: string): string {
  if (isBuiltin(specifier) || specifier.includes('://')) return specifier;
  const base = path.join(process.cwd(), 'index.js');
  if (specifier.startsWith('.') || specifier.startsWith('/')) return pathToFileURL(path.resolve(process.cwd(), specifier)).href;
  try {
    return pathToFileURL(createRequire(base).resolve(specifier)).href;
  } catch {
    return specifier;
  }
}

/** Rich output: a value may describe itself with a MIME bundle under Symbol.for('Jupyter.display'),
 *  the convention of Deno's Jupyter kernel; anything else is shown as util.inspect shows it. */
async function bundleOf(value: unknown): Promise<Record<string, unknown>> {
  const display = (value as Record<symbol, unknown> | null | undefined)?.[Symbol.for('Jupyter.display')];
  if (typeof display === 'function') {
    const bundle: unknown = await display.call(value);
    if (bundle && typeof bundle === 'object') return bundle as Record<string, unknown>;
  }
  return { 'text/plain': util.inspect(value, { depth: 4 }) };
}

function describe(err: unknown): { name: string; value: string; traceback: string } {
  if (err instanceof Error) return { name: err.name, value: err.message, traceback: err.stack ?? '' };
  return { name: 'Error', value: util.inspect(err), traceback: '' };
}

let interruptCurrent: (() => void) | undefined;

async function run(id: number, script: string, hasValue: boolean): Promise<void> {
  const interrupted = new Promise<never>((_, reject) => {
    interruptCurrent = () => {
      const err = new Error('the execution was interrupted');
      err.name = 'KeyboardInterrupt';
      reject(err);
    };
  });
  try {
    // breakOnSigint stops a synchronous loop; the SIGINT listener below covers awaiting code.
    const pending = vm.runInThisContext(script, {
      filename: `<cell ${id}>`,
      breakOnSigint: true,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    }) as Promise<unknown>;
    const value = await Promise.race([pending, interrupted]);
    if (hasValue && value !== undefined) send({ type: 'result', id, bundle: await bundleOf(value) });
  } catch (err) {
    send({ type: 'error', id, ...describe(err) });
  } finally {
    interruptCurrent = undefined;
    send({ type: 'done', id });
  }
}

function main(): void {
  capture('stdout');
  capture('stderr');
  const globals = globalThis as Record<string, unknown>;
  globals.require = createRequire(path.join(process.cwd(), 'index.js'));
  globals.__sandcastleImport = (specifier: string) => import(resolveSpecifier(specifier));
  process.on('SIGINT', () => interruptCurrent?.());
  // Code that fails after its cell ended must not end the context; say so where the user looks.
  process.on('uncaughtException', (err) => process.stderr.write(`Uncaught ${util.inspect(err)}\n`));
  process.on('unhandledRejection', (reason) => process.stderr.write(`Unhandled rejection: ${util.inspect(reason)}\n`));
  process.on('disconnect', () => process.exit(0));
  let queue = Promise.resolve();
  process.on('message', (message: ToKernel) => {
    if (message.type === 'env') {
      Object.assign(process.env, message.set);
      for (const key of message.unset) delete process.env[key];
    } else {
      queue = queue.then(() => run(message.id, message.script, message.hasValue));
    }
  });
  send({ type: 'ready' });
}

main();
