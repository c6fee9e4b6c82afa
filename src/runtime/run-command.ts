// Runs a host tool (runc, ip, mount) with an argument array and turns a failure into an error that
// names the command, its exit status and the end of its stderr.
import { spawn } from 'node:child_process';

export interface RunOptions {
  input?: string;
  /** Exit statuses that count as success besides 0. */
  okCodes?: number[];
}

export function runCommand(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0 || (code !== null && opts.okCodes?.includes(code))) {
        resolve(Buffer.concat(out).toString());
        return;
      }
      const stderr = Buffer.concat(err).toString().trim().split('\n').slice(-5).join(' | ');
      const status = signal ? `signal ${signal}` : `exit status ${code}`;
      reject(new Error(`${cmd} ${args.join(' ')} failed (${status}): ${stderr || '(no output)'}`));
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}
