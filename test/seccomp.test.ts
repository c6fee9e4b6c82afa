// The allow-list seccomp profile, from inside real default sandboxes through the unmodified
// novita-sandbox SDK: new namespaces, keyrings, BPF and vsock are refused with EPERM; ordinary work
// (apt, python, node, sudo, a terminal, files) runs; the processes of a paused and resumed sandbox,
// of its clone and of a sandbox made from its snapshot come back with their filter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Sandbox } from 'novita-sandbox';
import { sandboxNode } from '../src/runtime/runc/sandbox-tools.js';
import { useTestServer } from './support/server-process.js';

useTestServer();

/** Prints the errno (0 on success) of keyctl, bpf, perf_event_open, unshare(CLONE_NEWUSER) and of a
 *  vsock socket, in that order. */
const probe = [
  'import ctypes, errno, platform, socket',
  'libc = ctypes.CDLL(None, use_errno=True)',
  "nr = {'x86_64': dict(keyctl=250, bpf=321, perf=298, unshare=272), 'aarch64': dict(keyctl=219, bpf=280, perf=241, unshare=97)}[platform.machine()]",
  'def errno_of(n, *args):',
  '    return 0 if libc.syscall(n, *args) >= 0 else ctypes.get_errno()',
  'def vsock():',
  '    try: socket.socket(40, socket.SOCK_STREAM).close(); return 0',
  '    except OSError as e: return e.errno',
  "print(errno_of(nr['keyctl'], 0, 0, 0, 0, 0), errno_of(nr['bpf'], 0, 0, 0), errno_of(nr['perf'], 0, 0, 0, 0, 0), errno_of(nr['unshare'], 0x10000000), vsock())",
].join('\n');

async function refusals(sbx: Sandbox, user: 'root' | 'user'): Promise<string> {
  const r = await sbx.commands.run('for ns in -U -m; do unshare $ns true 2>&1; echo "unshare $ns: $?"; done; python3 /tmp/probe.py', { user });
  return r.stdout;
}

const refused = /^unshare: unshare failed: Operation not permitted\nunshare -U: 1\nunshare: unshare failed: Operation not permitted\nunshare -m: 1\n1 1 1 1 1\n$/;

describe('seccomp allow-list in a default sandbox', () => {
  it('refuses new namespaces, keyrings, BPF, perf events and vsock with EPERM, to root and to user', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    try {
      await sbx.files.write('/tmp/probe.py', probe);
      assert.match(await refusals(sbx, 'root'), refused);
      assert.match(await refusals(sbx, 'user'), refused);
    } finally {
      await sbx.kill();
    }
  });

  it('runs ordinary work: apt-get, python3, node, sudo, git, a terminal, files', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    try {
      const r = await sbx.commands.run([
        'apt-get --version | head -1',
        'python3 -c "import threading, subprocess; t = threading.Thread(target=print, args=(\'py thread\',)); t.start(); t.join(); subprocess.run([\'true\'], check=True)"',
        `${sandboxNode} -e "require('child_process').execFileSync('true'); console.log('node', process.version.split('.')[0])"`,
        'sudo -n id -u',
        'cd /tmp && git init -q repo && cd repo && git -c user.name=t -c user.email=t@t commit -q --allow-empty -m c && git log --format=%s',
      ].join(' && '));
      assert.match(r.stdout, /^apt \d+\.\d+.*\npy thread\nnode v\d+\n0\nc\n$/);

      await sbx.files.write('/home/user/note.txt', 'written through envd\n');
      assert.equal(await sbx.files.read('/home/user/note.txt'), 'written through envd\n');

      let out = '';
      const decoder = new TextDecoder();
      const pty = await sbx.pty.create({ cols: 80, rows: 24, onData: (d) => void (out += decoder.decode(d, { stream: true })) });
      await sbx.pty.sendInput(pty.pid, new TextEncoder().encode('tty && stty size\n'));
      for (let i = 0; i < 100 && !out.includes('24 80'); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(out, /\/dev\/pts\/\d+/);
      assert.ok(out.includes('24 80'), `terminal output: ${out}`);
      await pty.kill();
    } finally {
      await sbx.kill();
    }
  });

  it('a paused and resumed sandbox, its clone and a sandbox from its snapshot keep the running process and the filter', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    try {
      await sbx.files.write('/tmp/probe.py', probe);
      await sbx.commands.run('(sleep 600 >/dev/null 2>&1 &)');
      const sleeper = (await sbx.commands.run('pgrep -x sleep')).stdout.trim();
      assert.match((await sbx.commands.run(`grep Seccomp: /proc/${sleeper}/status`)).stdout, /^Seccomp:\s+2$/m);

      assert.equal(await sbx.betaPause(), true);
      await sbx.connect();
      assert.equal((await sbx.commands.run('pgrep -x sleep')).stdout.trim(), sleeper, 'the same process runs on');
      assert.match((await sbx.commands.run(`grep Seccomp: /proc/${sleeper}/status /proc/1/status`)).stdout, /^\/proc\/\d+\/status:Seccomp:\s+2\n\/proc\/1\/status:Seccomp:\s+2\n$/);
      assert.match(await refusals(sbx, 'root'), refused);

      // A clone and a sandbox made from a snapshot are restored the same way.
      const { sandboxes: [clone] } = await Sandbox.clone(sbx.sandboxId, { count: 1 });
      const { snapshotId } = await sbx.createSnapshot();
      const fromSnapshot = await Sandbox.create(snapshotId, { timeoutMs: 120_000 });
      try {
        for (const copy of [clone!, fromSnapshot]) {
          assert.match((await copy.commands.run(`grep Seccomp: /proc/${sleeper}/status`)).stdout, /^Seccomp:\s+2$/m);
          assert.match(await refusals(copy, 'user'), refused);
        }
      } finally {
        await Promise.all([clone!.kill(), fromSnapshot.kill()]);
        await Sandbox.deleteSnapshot(snapshotId);
      }
    } finally {
      await sbx.kill();
    }
  });
});
