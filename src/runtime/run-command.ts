// Runs a host tool (runc, ip, mount) with an argument array and turns a failure into an error that
// names the command, its exit status and the end of its stderr.
import { spawn } from 'node:child_process';

export interface RunOptions {
  input?: string;
  /** Give the command /dev/null for output: for commands that leave a process holding their
   *  stdio (a detached container), whose pipes would never close. Errors then say less. */
  quiet?: boolean;
}

export function runCommand(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const output = opts.quiet ? 'ignore' : 'pipe';
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', output, output] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) {
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
