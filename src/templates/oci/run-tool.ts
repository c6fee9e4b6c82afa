// Runs skopeo, tar and friends for an image pull. Unlike runtime/run-command.ts this spawns
// directly: a pull needs an abort signal that stops the tool, its own environment (skopeo's
// configuration files) and stdout as bytes (a manifest's digest is over its exact bytes). Pulls
// are rare, so the cost of forking the server that run-command.ts avoids does not matter here.
import { spawn } from 'node:child_process';

export class ToolError extends Error {
  constructor(
    message: string,
    /** The tool's whole stderr, for callers that explain known failures. */
    readonly stderr: string,
  ) {
    super(message);
  }
}

export interface ToolOptions {
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export function runTool(cmd: string, args: readonly string[], opts: ToolOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    opts.signal?.throwIfAborted();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env, signal: opts.signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(e.name === 'AbortError' ? e : new Error(`cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString();
      if (code === 0) return resolve(Buffer.concat(out));
      if (opts.signal?.aborted) return; // the 'error' event has rejected already
      const tail = stderr.trim().split('\n').slice(-5).join(' | ') || '(no output)';
      reject(new ToolError(`${cmd} ${args.join(' ')} failed (${signal ? `signal ${signal}` : `exit status ${code}`}): ${tail}`, stderr));
    });
  });
}
