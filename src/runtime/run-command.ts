// Runs a host tool (runc, ip, mount, nft) with an argument array and turns a failure into an error
// that names the command, its exit status and the end of its stderr.
//
// The tools are started by a small helper process (a bare node, started once) instead of by the
// server itself: forking the server copies its page tables, which took ~1.4 ms of its CPU per tool
// at 160 MiB with its event loop stopped meanwhile, plus the child's own teardown of that copy
// before exec; 16% of the server's time in a burst of creates went there. The helper is a fifth of
// that size. If the server dies, the helper lets running tools finish and then exits.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';

export interface RunOptions {
  input?: string;
  /** Give the command /dev/null for output: for commands that leave a process holding their
   *  stdio (a detached container), whose pipes would never close. Errors then say less. */
  quiet?: boolean;
  /** Variables added to the server's environment for this command. */
  env?: Record<string, string>;
  /** Deadline: past it the command and every process it started (its process group) are killed
   *  and the call fails saying so. For tools that can hang for ever (CRIU waiting on a task). */
  timeoutMs?: number;
}

interface Reply {
  id: number;
  code?: number | null;
  signal?: string | null;
  stdout?: string;
  stderr?: string;
  /** The tool could not be started at all. */
  error?: string;
  /** It passed its deadline and was killed. */
  timedOut?: boolean;
}

/** The helper: one JSON request per line on stdin ({id, cmd, args, input?, quiet?, env?, timeoutMs?}),
 *  one JSON reply per line on stdout when that tool has exited. A tool past its deadline is killed
 *  with every process descending from it (runc starts CRIU in a process group of its own). */
const helperSource = `
const { spawn } = require('node:child_process');
const { readdirSync, readFileSync } = require('node:fs');
function descendants(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\\d+$/.test(name)) continue;
    let stat;
    try { stat = readFileSync('/proc/' + name + '/stat', 'latin1'); } catch { continue; }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const found = [];
  for (let queue = [root]; queue.length > 0; ) {
    for (const pid of children.get(queue.shift()) ?? []) { found.push(pid); queue.push(pid); }
  }
  return found;
}
let inflight = 0, closed = false, buf = '';
const maybeExit = () => { if (closed && inflight === 0) process.exit(0); };
function run({ id, cmd, args, input, quiet, env, timeoutMs }) {
  inflight++;
  const out = quiet ? 'ignore' : 'pipe';
  const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', out, out], env: env && { ...process.env, ...env } });
  const o = [], e = [];
  let settled = false, timedOut = false;
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    for (const pid of [child.pid, ...descendants(child.pid)]) { try { process.kill(pid, 'SIGKILL'); } catch {} }
  }, timeoutMs);
  const finish = (r) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    if (timedOut) r.timedOut = true;
    inflight--;
    process.stdout.write(JSON.stringify({ id, ...r }) + '\\n');
    maybeExit();
  };
  child.stdout?.on('data', (b) => o.push(b));
  child.stderr?.on('data', (b) => e.push(b));
  child.on('error', (err) => finish({ error: err.message }));
  child.on('close', (code, signal) => finish({ code, signal, stdout: Buffer.concat(o).toString(), stderr: Buffer.concat(e).toString() }));
  if (input !== undefined) { child.stdin.on('error', () => {}); child.stdin.end(input); }
}
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  for (let i = buf.indexOf('\\n'); i >= 0; i = buf.indexOf('\\n')) { run(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1); }
});
process.stdin.on('end', () => { closed = true; maybeExit(); });
`;

class ToolLauncher {
  private child: ChildProcess | undefined;
  private readonly waiting = new Map<number, (reply: Reply) => void>();
  private nextId = 0;
  private received = '';

  run(cmd: string, args: string[], opts: RunOptions): Promise<Reply> {
    const child = this.child ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      if (this.waiting.size === 1) this.holdOpen(child, true);
      child.stdin!.write(JSON.stringify({ id, cmd, args, input: opts.input, quiet: opts.quiet, env: opts.env, timeoutMs: opts.timeoutMs }) + '\n');
    });
  }

  private start(): ChildProcess {
    const child = spawn(process.execPath, ['-e', helperSource], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child = child;
    this.received = '';
    child.unref();
    this.holdOpen(child, false);
    // A write after it died fails here; its 'exit' answers whoever waits.
    child.stdin!.on('error', () => undefined);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.received += chunk;
      for (let i = this.received.indexOf('\n'); i >= 0; i = this.received.indexOf('\n')) {
        const reply = JSON.parse(this.received.slice(0, i)) as Reply;
        this.received = this.received.slice(i + 1);
        this.settle(reply);
      }
    });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      for (const id of [...this.waiting.keys()]) this.settle({ id, error: `the tool launcher exited (${signal ?? `status ${code}`})` });
    });
    return child;
  }

  private settle(reply: Reply): void {
    const resolve = this.waiting.get(reply.id);
    if (!resolve) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0 && this.child) this.holdOpen(this.child, false);
    resolve(reply);
  }

  /** The helper keeps this process alive only while a tool it started is running. */
  private holdOpen(child: ChildProcess, on: boolean): void {
    for (const pipe of [child.stdin, child.stdout] as unknown as Socket[]) {
      if (on) pipe.ref();
      else pipe.unref();
    }
  }
}

const launcher = new ToolLauncher();

export async function runCommand(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const reply = await launcher.run(cmd, args, opts);
  if (reply.error !== undefined) throw new Error(`cannot run ${cmd}: ${reply.error}`);
  if (reply.code === 0 && !reply.timedOut) return reply.stdout ?? '';
  const stderr = (reply.stderr ?? '').trim().split('\n').slice(-5).join(' | ');
  const status = reply.timedOut
    ? `did not finish within ${opts.timeoutMs! / 1000} s and was killed with what it started`
    : reply.signal
      ? `signal ${reply.signal}`
      : `exit status ${reply.code}`;
  throw new Error(`${cmd} ${args.join(' ')} failed (${status}): ${stderr || '(no output)'}`);
}
