// The novita-sandbox SDK, unmodified, against the real server: lifecycle, commands, files, env.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CommandExitError, FileNotFoundError, NotFoundError, Sandbox, SandboxNotFoundError } from 'novita-sandbox';
import { useTestServer } from './support/server-process.js';


useTestServer();

describe('sandbox lifecycle through novita-sandbox', () => {
  it('creates a sandbox, runs a command in it as user in /home/user, and kills it', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 60_000 });
    try {
      const r = await sbx.commands.run('echo "$(whoami) $(pwd) $(hostname)"');
      assert.equal(r.exitCode, 0);
      assert.equal(r.stdout, `user /home/user ${sbx.sandboxId}\n`);
      const root = await sbx.commands.run('whoami', { user: 'root' });
      assert.equal(root.stdout, 'root\n');
      const sudo = await sbx.commands.run('sudo -n whoami');
      assert.equal(sudo.stdout, 'root\n');
    } finally {
      await sbx.kill();
    }
    assert.equal(await Sandbox.kill(sbx.sandboxId), false, 'a second kill finds nothing');
  });

  it("refuses the sandbox's root kernel keyrings, BPF, perf events and new user namespaces (seccomp), and still forks, threads and spawns", async () => {
    const sbx = await Sandbox.create({ timeoutMs: 60_000 });
    try {
      const probe = [
        'import ctypes, os, subprocess, threading',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'def errno_of(nr, *args):',
        '    return 0 if libc.syscall(nr, *args) >= 0 else ctypes.get_errno()',
        // x86_64 numbers: keyctl, bpf, perf_event_open, unshare(CLONE_NEWUSER).
        'print(errno_of(250, 0, 0, 0, 0, 0), errno_of(321, 0, 0, 0), errno_of(298, 0, 0, 0, 0, 0), errno_of(272, 0x10000000))',
        't = threading.Thread(target=lambda: None); t.start(); t.join()',
        'pid = os.fork()',
        'if pid == 0: os._exit(7)',
        "print(subprocess.run(['true']).returncode, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))",
      ].join('\n');
      await sbx.files.write('/tmp/probe.py', probe);
      const r = await sbx.commands.run('python3 /tmp/probe.py', { user: 'root' });
      assert.equal(r.stdout, '1 1 1 1\n0 7\n');
    } finally {
      await sbx.kill();
    }
  });

  it('reports info with a true endAt and state, and setTimeout moves the deadline', async () => {
    const before = Date.now();
    const sbx = await Sandbox.create({ timeoutMs: 60_000, metadata: { purpose: 'info' } });
    try {
      const info = await sbx.getInfo();
      assert.equal(info.sandboxId, sbx.sandboxId);
      assert.equal(info.templateId, 'base');
      assert.equal(info.state, 'running');
      assert.deepEqual(info.metadata, { purpose: 'info' });
      const lifetime = info.endAt.getTime() - info.startedAt.getTime();
      assert.ok(Math.abs(lifetime - 60_000) < 2000, `endAt - startedAt = ${lifetime} ms`);
      assert.ok(info.startedAt.getTime() >= before - 1000);

      await sbx.setTimeout(300_000);
      const later = await sbx.getInfo();
      const remaining = later.endAt.getTime() - Date.now();
      assert.ok(remaining > 290_000 && remaining <= 300_000, `remaining after setTimeout: ${remaining} ms`);
    } finally {
      await sbx.kill();
    }
  });

  it('kills a sandbox at its deadline', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 2_000 });
    assert.equal(await sbx.isRunning(), true);
    const gone = () => Sandbox.getInfo(sbx.sandboxId).then(() => false, () => true);
    for (let i = 0; i < 100 && !(await gone()); i++) await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(Sandbox.getInfo(sbx.sandboxId), SandboxNotFoundError);
  });

  it('answers not-found for info, kill and timeout of an unknown id', async () => {
    await assert.rejects(Sandbox.getInfo('nosuchsandbox000000'), SandboxNotFoundError);
    assert.equal(await Sandbox.kill('nosuchsandbox000000'), false);
    await assert.rejects(Sandbox.setTimeout('nosuchsandbox000000', 10_000), SandboxNotFoundError);
  });

  it('connects to a running sandbox by id and drives it', async () => {
    const sbx = await Sandbox.create();
    try {
      const again = await Sandbox.connect(sbx.sandboxId);
      await again.files.write('/tmp/from-connect', 'hello');
      assert.equal(await sbx.files.read('/tmp/from-connect'), 'hello');
    } finally {
      await sbx.kill();
    }
  });
});

describe('commands and files through novita-sandbox', () => {
  let sbx: Sandbox;
  before(async () => {
    sbx = await Sandbox.create({ envs: { GLOBAL_VAR: 'global', SHARED: 'from-create' } });
  });
  after(async () => {
    await sbx.kill();
  });

  it('applies global env vars, lets per-command vars override them, and sets the sandbox defaults', async () => {
    const r = await sbx.commands.run('echo "$GLOBAL_VAR $SHARED $E2B_SANDBOX $E2B_SANDBOX_ID $NOVITA_SANDBOX_ID"', {
      envs: { SHARED: 'from-command' },
    });
    assert.equal(r.stdout, `global from-command true ${sbx.sandboxId} ${sbx.sandboxId}\n`);
  });

  it('publishes the sandbox-wide variables to dot files and to a root-only file for in-sandbox services', async () => {
    assert.equal((await sbx.commands.run('cat /run/e2b/.E2B_SANDBOX_ID')).stdout, sbx.sandboxId);
    const published = await sbx.commands.run('cat /run/sandcastle/envs.json', { user: 'root' });
    assert.equal(JSON.parse(published.stdout).GLOBAL_VAR, 'global');
    await assert.rejects(sbx.commands.run('cat /run/sandcastle/envs.json'), 'user may not read it');
  });

  it('throws CommandExitError with stdout, stderr and the exit code', async () => {
    await assert.rejects(sbx.commands.run('echo out; echo err >&2; exit 3'), (err: unknown) => {
      assert.ok(err instanceof CommandExitError);
      assert.equal(err.exitCode, 3);
      assert.equal(err.stdout, 'out\n');
      assert.equal(err.stderr, 'err\n');
      return true;
    });
  });

  it('streams output of a background command, takes stdin, and kills it', async () => {
    const seen: string[] = [];
    const handle = await sbx.commands.run('cat', { background: true, stdin: true, onStdout: (d) => void seen.push(d) });
    await sbx.commands.sendStdin(handle.pid, 'ping\n');
    for (let i = 0; i < 100 && !seen.join('').includes('ping'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(seen.join(''), 'ping\n');
    assert.equal(await handle.kill(), true);
    await assert.rejects(handle.wait(), CommandExitError);
  });

  it('writes, lists, reads and removes files, and a missing file is NotFound', async () => {
    await sbx.files.write('notes/a.txt', 'alpha');
    assert.equal(await sbx.files.read('/home/user/notes/a.txt'), 'alpha');
    const entries = await sbx.files.list('/home/user/notes');
    assert.deepEqual(entries.map((e) => [e.name, e.type]), [['a.txt', 'file']]);
    const owner = await sbx.commands.run('stat -c %U /home/user/notes/a.txt');
    assert.equal(owner.stdout, 'user\n');
    await sbx.files.remove('notes/a.txt');
    assert.equal(await sbx.files.exists('notes/a.txt'), false);
    await assert.rejects(sbx.files.read('/home/user/missing.txt'), (err: unknown) =>
      err instanceof FileNotFoundError || err instanceof NotFoundError,
    );
  });
});
