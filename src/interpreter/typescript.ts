// TypeScript cells → JavaScript: esbuild's transform removes the types (they are not checked).
// One esbuild process in its service mode, driven through esbuild's JavaScript API, serves every
// TypeScript context of the sandbox: started for each cell, esbuild cost a cell 27 ms here (a Go
// program's start on this machine), against 2 ms through the service. The service is stopped once
// cells stop coming: it wakes every second to ping its parent, and a sandbox paused later would
// carry it.
import type { Message, TransformOptions } from 'esbuild';
import { CellSyntaxError } from './js-cell.js';

type Esbuild = typeof import('esbuild');

const idleMs = 30_000;

/** Imports are kept even when only a later cell uses them (verbatimModuleSyntax): a cell is not a
 *  whole program. */
const options: TransformOptions = { loader: 'ts', tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } } };

let api: Promise<Esbuild> | undefined;
let inFlight = 0;
let idleTimer: NodeJS.Timeout | undefined;

/** esbuild's API, running `binary`. Bundled, the API cannot find its platform package and reads
 *  the binary's path from ESBUILD_BINARY_PATH once, as it loads; the first binary given wins. */
function esbuildRunning(binary: string): Promise<Esbuild> {
  api ??= (async () => {
    process.env.ESBUILD_BINARY_PATH = binary;
    try {
      return await import('esbuild');
    } finally {
      // Not handed down to the kernels.
      delete process.env.ESBUILD_BINARY_PATH;
    }
  })();
  return api;
}

/** The JavaScript of a TypeScript cell; a CellSyntaxError where esbuild cannot read it. */
export async function stripTypes(binary: string, code: string): Promise<string> {
  const esbuild = await esbuildRunning(binary);
  clearTimeout(idleTimer);
  inFlight++;
  try {
    return await transformed(esbuild, code);
  } finally {
    if (--inFlight === 0) idleTimer = setTimeout(() => void esbuild.stop(), idleMs).unref();
  }
}

/** Starts the service ahead of the cells (a failure here is the first cell's to report). */
export function startTypeStripping(binary: string): void {
  stripTypes(binary, '').catch(() => undefined);
}

/** A service that died (killed, out of memory) fails every call after it until stopped: stopped,
 *  the next call starts another, so the cell is tried once more. */
async function transformed(esbuild: Esbuild, code: string, retried = false): Promise<string> {
  try {
    return (await esbuild.transform(code, options)).code;
  } catch (err) {
    const first = (err as { errors?: Message[] }).errors?.[0];
    if (first?.location) throw new CellSyntaxError(first.text, first.location.line, first.location.column);
    if (first) throw new Error(`TypeScript could not be compiled: ${first.text}`, { cause: err });
    await esbuild.stop();
    if (retried) throw new Error(`TypeScript could not be compiled: esbuild failed: ${(err as Error).message}`, { cause: err });
    return transformed(esbuild, code, true);
  }
}
