// Starts envd's processes through its small helper (spawner.c) rather than Node's spawn, which
// forks all of envd (~5 ms here, the event loop stopped meanwhile). The helper connects each
// process's stdin, stdout and stderr to a unix socket envd listens on (the same kind of stdio
// Node's own spawn gives: a connected socket), starts the process and reports its end. When the
// helper is missing or keeps dying, Node's spawn does the work as before.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { bundledFile } from '../bundled-file.js';
import { envdLog } from '../envd-log.js';
import { signalName } from './exit-status.js';
import { tool } from './tools.js';

export interface LaunchRequest {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** A pipe for standard input; else /dev/null. */
  stdin: boolean;
  /** Run as this user (with these supplementary groups); envd's own ids when absent. */
  ids?: { uid: number; gid: number; groups: number[] };
}

/** What Proc needs of a started process; a ChildProcess is one. Emits 'exit' (code, signal). */
export interface Launched extends EventEmitter {
  readonly pid?: number;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
}

/** The helper (bundled-file.ts says where it is looked for). */
const helperFile = bundledFile('spawner');

const errnoNames = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

class HelperProcess extends EventEmitter implements Launched {
  constructor(
    readonly pid: number,
    readonly stdin: net.Socket | null,
    readonly stdout: net.Socket,
    readonly stderr: net.Socket,
  ) {
    super();
  }
}

/** The helper ended before it answered: the caller may start the process another way. */
class HelperEnded extends Error {}

interface Waiting {
  request: LaunchRequest;
  resolve: (p: HelperProcess) => void;
  reject: (err: Error) => void;
  /** The process's stdio connections by stream number (0 stdin, 1 stdout, 2 stderr). */
  streams: (net.Socket | undefined)[];
  pid?: number;
  /** An end reported before the start settled (a quick process whose stdio is not all in). */
  exit?: Exit;
}

type Exit = [code: number | null, signal: NodeJS.Signals | null];

/** Reports a process's end, never in the tick its start settled: the caller's listeners attach
 *  once the start's promise has settled. */
function emitExitLater(proc: HelperProcess, exit: Exit): void {
  setImmediate(() => proc.emit('exit', ...exit));
}

// A stdio connection's first line: "KEY ID N".
const maxGreeting = 128;

/** One running helper, the socket its processes' stdio connect to, and what it started. */
class Helper {
  private readonly child: ChildProcess;
  private readonly stdio: net.Server;
  private readonly key = randomBytes(16).toString('hex');
  private nextId = 1;
  private readonly waiting = new Map<string, Waiting>();
  private readonly started = new Map<number, HelperProcess>();
  private partial = '';
  readonly exited: Promise<void>;

  constructor(file: string) {
    const socketName = `sandcastle-envd-stdio-${randomBytes(8).toString('hex')}`;
    this.stdio = net.createServer((socket) => this.greeted(socket));
    this.stdio.on('error', (err) => {
      // Without the socket no start can get its stdio: end the helper, so that starts go through
      // Node's spawn (as when it dies) instead of failing.
      envdLog('warn', `process helper's stdio socket: ${err.message}; ending the helper`);
      this.child.kill();
    });
    this.stdio.listen(`\0${socketName}`);
    this.child = spawn(file, [socketName], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.exited = once(this.child, 'exit').then(() => undefined, () => undefined);
    this.child.on('error', (err) => envdLog('warn', `process helper: ${err.message}`));
    this.child.stdin!.on('error', () => undefined);
    this.child.stdout!.setEncoding('latin1');
    this.child.stdout!.on('data', (text: string) => this.read(text));
    this.send(['k', this.key]);
    void this.exited.then(() => this.gone());
    // The helper keeps envd running only while it has starts or ends to report (so that envd's
    // tests end when they are done).
    this.stdio.unref();
    this.child.unref();
    (this.child.stdin as net.Socket).unref();
    this.busy();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  launch(request: LaunchRequest): Promise<HelperProcess> {
    const id = String(this.nextId++);
    const argv = [request.file, ...request.args];
    const env = Object.entries(request.env).map(([k, v]) => `${k}=${v}`);
    const ids = request.ids;
    this.send([
      's', id, ids ? String(ids.uid) : '-', ids ? String(ids.gid) : '-', ids ? ids.groups.join(',') : '',
      request.cwd, request.stdin ? '1' : '0', request.file, String(argv.length), ...argv, String(env.length), ...env,
    ]);
    const started = new Promise<HelperProcess>((resolve, reject) => this.waiting.set(id, { request, resolve, reject, streams: [] }));
    this.busy();
    return started;
  }

  private busy(): void {
    const pipe = this.child.stdout as net.Socket;
    if (this.waiting.size > 0 || this.started.size > 0) pipe.ref();
    else pipe.unref();
  }

  private send(fields: string[]): void {
    const body = Buffer.from(fields.map((f) => `${f}\0`).join(''));
    const head = Buffer.alloc(4);
    head.writeUInt32LE(body.length);
    this.child.stdin!.write(Buffer.concat([head, body]));
  }

  /** A stdio connection: its first line says whose stream it is; the rest is the stream. */
  private greeted(socket: net.Socket): void {
    socket.on('error', () => undefined);
    // The helper greets at once; a stranger that says nothing is not kept.
    socket.setTimeout(5000, () => socket.destroy());
    let head = Buffer.alloc(0);
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        head = Buffer.concat([head, chunk]);
        const nl = head.indexOf(10);
        if (nl < 0) {
          if (head.length > maxGreeting) socket.destroy();
          continue;
        }
        socket.off('readable', onReadable);
        socket.setTimeout(0);
        if (nl + 1 < head.length) socket.unshift(head.subarray(nl + 1));
        const [key, id, n] = head.subarray(0, nl).toString('latin1').split(' ');
        const w = key === this.key ? this.waiting.get(id!) : undefined;
        if (!w || !['0', '1', '2'].includes(n!)) return void socket.destroy();
        w.streams[Number(n)] = socket;
        return this.settle(id!, w);
      }
    };
    socket.on('readable', onReadable);
  }

  private read(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.onLine(line.split(' '));
  }

  private onLine(fields: string[]): void {
    this.report(fields);
    this.busy();
  }

  private report([kind, a, b, c]: string[]): void {
    if (kind === 's') {
      const w = this.waiting.get(a!);
      if (!w) return;
      w.pid = Number(b);
      return this.settle(a!, w);
    }
    if (kind === 'f') {
      const w = this.waiting.get(a!);
      if (!w) return;
      this.waiting.delete(a!);
      for (const s of w.streams) s?.destroy();
      const code = errnoNames.get(Number(b)) ?? `errno ${b}`;
      return w.reject(Object.assign(new Error(`spawn ${w.request.file} ${code}`), { code }));
    }
    if (kind === 'x') {
      const pid = Number(a);
      const code = Number(b);
      const signal = Number(c);
      const exit: Exit = [code >= 0 ? code : null, signal >= 0 ? signalName(signal) : null];
      const proc = this.started.get(pid);
      this.started.delete(pid);
      if (proc) return emitExitLater(proc, exit);
      const w = [...this.waiting.values()].find((x) => x.pid === pid);
      if (w) w.exit = exit;
    }
  }

  /** Resolves a start once the helper said it started and all its stdio connections are in. */
  private settle(id: string, w: Waiting): void {
    const [stdin, stdout, stderr] = w.streams;
    if (w.pid === undefined || !stdout || !stderr || (w.request.stdin && !stdin)) return;
    this.waiting.delete(id);
    // Whatever the process writes to its stdin is not read: drop it.
    stdin?.resume();
    const proc = new HelperProcess(w.pid, stdin ?? null, stdout, stderr);
    w.resolve(proc);
    if (w.exit) emitExitLater(proc, w.exit);
    else this.started.set(w.pid, proc);
    this.busy();
  }

  /** The helper ended (killed in the sandbox, most likely): what waited fails, and the end of
   *  what it started is no longer reported to us, so watch for those processes to go. */
  private gone(): void {
    this.stdio.close();
    for (const w of this.waiting.values()) {
      for (const s of w.streams) s?.destroy();
      w.reject(new HelperEnded(`spawn ${w.request.file}: the process helper ended`));
    }
    this.waiting.clear();
    if (this.started.size > 0) envdLog('warn', `process helper ended; the exit status of ${this.started.size} running process(es) is lost`);
    for (const [pid, proc] of this.started) void whenGone(pid).then(() => proc.emit('exit', -1, null));
    this.started.clear();
  }
}

async function whenGone(pid: number): Promise<void> {
  while (existsSync(`/proc/${pid}`)) await new Promise((r) => setTimeout(r, 100));
}

let helper: Helper | undefined;
let lastHelperStart = 0;

function currentHelper(): Helper | undefined {
  if (!helperFile) return undefined;
  if (helper) return helper;
  // A helper that dies as soon as it starts must not be started for every command.
  if (Date.now() - lastHelperStart < 1000) return undefined;
  lastHelperStart = Date.now();
  const started = new Helper(helperFile);
  void started.exited.then(() => {
    if (helper === started) helper = undefined;
  });
  helper = started;
  return helper;
}

/** The running helper's pid (for tests). */
export function helperPid(): number | undefined {
  return helper?.pid;
}

/** Starts the helper now (at envd's start), so that a sandbox's boot state already holds it. */
export function startProcessHelper(): void {
  currentHelper();
}

/** Starts a process in a new session (its own process group), its stdio connected sockets (pipes
 *  when Node's spawn does it). */
export async function launch(request: LaunchRequest): Promise<Launched> {
  const h = currentHelper();
  if (!h) return launchWithNode(request);
  try {
    return await h.launch(request);
  } catch (err) {
    if (err instanceof HelperEnded) return launchWithNode(request);
    throw err;
  }
}

/** `launch` by Node's spawn: while the helper is missing or restarting (exported for its tests). */
export async function launchWithNode(request: LaunchRequest): Promise<Launched> {
  let { file, args } = request;
  const options: Parameters<typeof spawn>[2] = {
    cwd: request.cwd,
    env: request.env,
    detached: true,
    stdio: [request.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  };
  const ids = request.ids;
  if (ids) {
    // Node can only set uid/gid and drops supplementary groups; setpriv keeps the user's groups
    // (sudo rules often rely on them) and then execs the command under the same pid.
    const setpriv = ids.groups.length > 0 ? tool('setpriv') : undefined;
    if (setpriv) {
      args = ['--reuid', String(ids.uid), '--regid', String(ids.gid), '--groups', ids.groups.join(','), '--', file, ...args];
      file = setpriv;
    } else {
      options.uid = ids.uid;
      options.gid = ids.gid;
    }
  }
  const child = spawn(file, args, options);
  await once(child, 'spawn');
  return child;
}
