// Runs a host tool (runc, ip, mount, nft) with an argument array and turns a failure into an error
// that names the command, its exit status and the end of its stderr.
//
// The tools are started by a small long-lived helper process instead of by the server itself,
// with posix_spawn (a vfork: no copy of the parent's page tables). A fork copies them, and how
// much that costs grows with the parent: forking the server took ~1.4 ms of its CPU per tool at
// 160 MiB with its event loop stopped meanwhile (16% of its time in a burst of creates); on a
// machine where page-table updates are expensive (a paravirtualised guest here) a spawn from a
// bare node helper took 9.9 ms, posix_spawn from Python 2.5 ms. Node's child_process always
// forks, hence a Python helper. If the server dies, the helper lets running tools finish and
// then exits.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';

export interface RunOptions {
  input?: string;
  /** Give the command /dev/null for output: for commands that leave a process holding their
   *  stdio (a detached container), whose pipes would never close. Errors then say less. */
  quiet?: boolean;
  /** Variables added to the server's environment for this command. */
  env?: Record<string, string>;
  /** Deadline: past it the command and every process descending from it are killed
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

/**
 * The helper, in Python for its `posix_spawn`: one JSON request per line on stdin ({id, cmd, args,
 * input?, quiet?, env?, timeoutMs?}), one JSON reply per line on stdout once that tool has exited
 * and its output is read. A tool past its deadline is killed with every process descending from
 * it (runc starts CRIU in a process group of its own).
 */
const helperSource = `
import errno, json, os, selectors, signal, sys, time

# Stopping the server with Ctrl-C reaches its whole process group; the helper keeps serving the
# server's shutdown and exits when the server closes its stdin.
signal.signal(signal.SIGINT, signal.SIG_IGN)
sel = selectors.DefaultSelector()
tools = {}
closed = False
received = b''

def descendants(root):
    children = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/' + name + '/stat', 'rb') as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b')') + 2:].split(b' ')[1])
        children.setdefault(ppid, []).append(int(name))
    found, queue = [], [root]
    while queue:
        for pid in children.get(queue.pop(0), []):
            found.append(pid)
            queue.append(pid)
    return found

def reply(tool, **fields):
    sys.stdout.buffer.write(json.dumps(dict(id=tool['id'], **fields)).encode() + b'\\n')
    sys.stdout.buffer.flush()

def finish(tool):
    del tools[tool['id']]
    status = tool['status']
    fields = dict(stdout=b''.join(tool['out']).decode('utf-8', 'replace'), stderr=b''.join(tool['err']).decode('utf-8', 'replace'))
    if os.WIFSIGNALED(status):
        fields.update(code=None, signal=signal.Signals(os.WTERMSIG(status)).name)
    else:
        fields.update(code=os.WEXITSTATUS(status), signal=None)
    if tool['timedOut']:
        fields['timedOut'] = True
    reply(tool, **fields)

def settle(tool):
    tool['open'] -= 1
    if tool['open'] == 0:
        finish(tool)

def start(req):
    tool = dict(id=req['id'], out=[], err=[], open=0, status=None, timedOut=False, deadline=None)
    actions, theirs = [], []
    def null(fd, flags):
        actions.append((os.POSIX_SPAWN_OPEN, fd, '/dev/null', flags, 0))
    def pipe(fd, reading):
        r, w = os.pipe()
        ours, child = (w, r) if reading else (r, w)
        actions.append((os.POSIX_SPAWN_DUP2, child, fd))
        theirs.append(child)
        return ours
    stdin = None
    if req.get('input') is None:
        null(0, os.O_RDONLY)
    else:
        stdin = pipe(0, True)
    outs = []
    for fd, sink in ((1, 'out'), (2, 'err')):
        if req.get('quiet'):
            null(fd, os.O_WRONLY)
        else:
            outs.append((pipe(fd, False), sink))
    env = dict(os.environ)
    env.update(req.get('env') or {})
    try:
        pid = os.posix_spawnp(req['cmd'], [req['cmd']] + req['args'], env, file_actions=actions,
                              setsigdef=(signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT), setsigmask=())
    except OSError as e:
        for fd in theirs + [fd for fd, _ in outs] + ([stdin] if stdin is not None else []):
            os.close(fd)
        reply(tool, error='spawn %s %s' % (req['cmd'], errno.errorcode.get(e.errno, str(e.errno))))
        return
    for fd in theirs:
        os.close(fd)
    tool['pid'] = pid
    tools[tool['id']] = tool
    for fd, sink in outs:
        tool['open'] += 1
        sel.register(fd, selectors.EVENT_READ, ('read', tool, sink))
    tool['open'] += 1
    sel.register(os.pidfd_open(pid), selectors.EVENT_READ, ('exit', tool, None))
    if stdin is not None:
        os.set_blocking(stdin, False)
        tool['input'] = req['input'].encode()
        sel.register(stdin, selectors.EVENT_WRITE, ('write', tool, None))
    if req.get('timeoutMs') is not None:
        tool['deadline'] = time.monotonic() + req['timeoutMs'] / 1000

def on_event(fd, kind, tool, sink):
    if kind == 'read':
        chunk = os.read(fd, 65536)
        if chunk:
            tool[sink].append(chunk)
            return
    elif kind == 'write':
        try:
            n = os.write(fd, tool['input'])
            tool['input'] = tool['input'][n:]
            if tool['input']:
                return
        except OSError:
            pass
        sel.unregister(fd)
        os.close(fd)
        return
    else:
        tool['status'] = os.waitpid(tool['pid'], 0)[1]
    sel.unregister(fd)
    os.close(fd)
    settle(tool)

def on_requests():
    global received, closed
    chunk = os.read(0, 65536)
    if not chunk:
        closed = True
        sel.unregister(0)
        return
    received += chunk
    while b'\\n' in received:
        line, received = received.split(b'\\n', 1)
        request = json.loads(line)
        try:
            start(request)
        except Exception as e:
            reply(dict(id=request['id']), error='%s: %s' % (type(e).__name__, e))

sel.register(0, selectors.EVENT_READ, ('requests', None, None))
while not (closed and not tools):
    deadlines = [t['deadline'] for t in tools.values() if t['deadline'] is not None and not t['timedOut']]
    wait = max(0, min(deadlines) - time.monotonic()) if deadlines else None
    for key, _ in sel.select(wait):
        kind, tool, sink = key.data
        if kind == 'requests':
            on_requests()
        else:
            on_event(key.fd, kind, tool, sink)
    now = time.monotonic()
    for tool in list(tools.values()):
        if tool['deadline'] is not None and not tool['timedOut'] and now >= tool['deadline']:
            tool['timedOut'] = True
            for pid in [tool['pid']] + descendants(tool['pid']):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
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
    // -I: no user site or PYTHON* variables of the server's environment change the helper.
    const child = spawn('python3', ['-I', '-c', helperSource], { stdio: ['pipe', 'pipe', 'inherit'] });
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
    const gone = (why: string) => {
      if (this.child === child) this.child = undefined;
      for (const id of [...this.waiting.keys()]) this.settle({ id, error: `the tool launcher ${why}` });
    };
    child.on('exit', (code, signal) => gone(`exited (${signal ?? `status ${code}`})`));
    child.on('error', (err) => gone(`(python3) could not be started: ${err.message}; run scripts/setup-host.sh`));
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
