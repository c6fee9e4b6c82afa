// Limits that hold under abuse, from inside real sandboxes with the unmodified SDK: a fork bomb
// stays inside its PID limit, a memory bomb is OOM-killed inside its cgroup, and a neighbour keeps
// working through both; a sandbox sees nothing of another's processes, files or interfaces, nor
// of the host's loopback services; device nodes, sysfs, new namespaces, ptrace of outside
// processes, kernel modules and raw devices are refused. Root inside may mount what a user
// namespace may (FUSE, tmpfs), in its own mount namespace only. (How much the neighbour slows down is a
// figure of `npm run bench`, not an assertion here: machines are noisy.)
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommandExitError, Sandbox } from 'novita-sandbox';
import { hostCgroupLayout, sandboxCgroupDir, sandboxesCgroupDir } from '../src/runtime/runc/cgroup-layout.js';
import { sandboxPidsCap } from '../src/runtime/runc/sandbox-pids-cap.js';
import { useTestServer } from './support/server-process.js';
import { gatewayAddress } from './support/sandbox-network.js';

// A small PID limit makes the bomb reach it quickly; the mechanism is the same at the default.
const pidsLimit = 256;
const server = useTestServer({ env: { SANDCASTLE_PIDS_LIMIT: String(pidsLimit), SANDCASTLE_WARM_POOL: '0' } }).current;

const layout = hostCgroupLayout();

/** A counter of a cgroup file with `name value` lines (pids.events, memory.events, memory.oom_control). */
function cgroupCounter(file: string, name: string): number {
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

function pidsCurrent(id: string): number {
  return Number(readFileSync(`${sandboxCgroupDir(layout, id, 'pids')}/pids.current`, 'utf8'));
}

function oomKills(id: string): number {
  const dir = sandboxCgroupDir(layout, id, 'memory');
  return layout.version === 'v2' ? cgroupCounter(`${dir}/memory.events`, 'oom_kill') : cgroupCounter(`${dir}/memory.oom_control`, 'oom_kill');
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A neighbour's ordinary work goes on. */
async function assertNeighbourWorks(neighbour: Sandbox): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const r = await neighbour.commands.run('echo alive; ls / > /dev/null');
    assert.equal(r.stdout, 'alive\n');
  }
}

// Raw system calls through python's ctypes, so a refusal is the kernel's or seccomp's answer, not
// a missing tool's. Prints each call's errno name (or "ok").
const syscallProbe = (calls: string) => `python3 - <<'EOF'
import ctypes, errno, json, os
libc = ctypes.CDLL(None, use_errno=True)
numbers = {
  'x86_64': {'init_module': 175, 'finit_module': 313, 'delete_module': 176, 'ptrace': 101},
  'aarch64': {'init_module': 105, 'finit_module': 273, 'delete_module': 106, 'ptrace': 117},
}[os.uname().machine]
def call(name, *args):
    ctypes.set_errno(0)
    if libc.syscall(numbers[name], *args) == -1:
        return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
    return 'ok'
print(json.dumps({${calls}}))
EOF`;

describe('containment under abuse', () => {
  let hostService: http.Server;
  before(async () => {
    hostService = http.createServer((_req, res) => res.end('host loopback secret\n'));
    await new Promise<void>((r) => hostService.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await new Promise((r) => hostService.close(r));
  });

  it('a fork bomb stays inside its PID limit and every sandbox together inside the host\'s, its neighbour keeps working, and kill ends it', async () => {
    const [bomb, neighbour] = await Promise.all([Sandbox.create({ timeoutMs: 300_000 }), Sandbox.create({ timeoutMs: 300_000 })]);
    let killed = false;
    try {
      const eventsFile = `${sandboxCgroupDir(layout, bomb.sandboxId, 'pids')}/pids.events`;
      await bomb.commands.run(":(){ :|:& };:", { background: true });
      await waitFor('the fork bomb hits the PID limit', () => cgroupCounter(eventsFile, 'max') > 0);
      assert.ok(pidsCurrent(bomb.sandboxId) <= pidsLimit, `pids.current ${pidsCurrent(bomb.sandboxId)} is within ${pidsLimit}`);
      await assertNeighbourWorks(neighbour);
      assert.ok(pidsCurrent(bomb.sandboxId) <= pidsLimit);

      // Every sandbox together is capped below the host's own process and thread ids.
      const parentMax = readFileSync(path.join(sandboxesCgroupDir(layout, 'pids'), 'pids.max'), 'utf8').trim();
      const kernel = (name: string) => Number(readFileSync(`/proc/sys/kernel/${name}`, 'utf8'));
      assert.equal(parentMax, String(sandboxPidsCap(kernel('pid_max'), kernel('threads-max'))));

      await bomb.kill();
      killed = true;
      assert.equal(existsSync(sandboxCgroupDir(layout, bomb.sandboxId, 'pids')), false, 'the bomb\'s cgroup is gone with it');
      await assertNeighbourWorks(neighbour);
    } finally {
      await Promise.all([killed ? undefined : bomb.kill(), neighbour.kill()]);
    }
  });

  it('a memory bomb is OOM-killed inside its cgroup; the sandbox and its neighbour keep working', async () => {
    const [bomb, neighbour] = await Promise.all([Sandbox.create({ timeoutMs: 300_000 }), Sandbox.create({ timeoutMs: 300_000 })]);
    try {
      assert.equal(oomKills(bomb.sandboxId), 0);
      const grow = "python3 -c 'a = []\nwhile True: a.append(bytearray(32 << 20))'";
      await assert.rejects(bomb.commands.run(grow), (err: unknown) => err instanceof CommandExitError && err.exitCode !== 0);
      assert.ok(oomKills(bomb.sandboxId) >= 1, 'the kernel\'s OOM killer acted in the sandbox\'s own cgroup');
      assert.equal((await bomb.commands.run('echo still here')).stdout, 'still here\n');
      await assertNeighbourWorks(neighbour);
      assert.equal(oomKills(neighbour.sandboxId), 0, 'nothing was killed in the neighbour');
    } finally {
      await Promise.all([bomb.kill(), neighbour.kill()]);
    }
  });

  it("sees nothing of another sandbox's processes, files or interfaces, nor the host's loopback services", async () => {
    const [a, b] = await Promise.all([Sandbox.create(), Sandbox.create()]);
    try {
      await a.commands.run('sleep 4321', { background: true });
      await a.commands.run('echo secret of a > /tmp/only-in-a', { user: 'root' });
      const processes = await b.commands.run('ps -eo args', { user: 'root' });
      assert.doesNotMatch(processes.stdout, /sleep 4321/);
      const others = processes.stdout.trim().split('\n').slice(1).filter((l) => !l.startsWith('/opt/sandcastle/') && l !== 'ps -eo args');
      assert.deepEqual(others, [], 'only the sandbox\'s own envd and this ps are visible, nothing of the host');
      assert.equal((await b.commands.run('test -e /tmp/only-in-a && echo present || echo absent')).stdout, 'absent\n');
      const links = await b.commands.run("ip -o link | awk -F': ' '{print $2}'", { user: 'root' });
      assert.deepEqual(links.stdout.trim().split('\n').map((l) => l.replace(/@.*/, '')).sort(), ['eth0', 'lo']);

      // The host's server pid is nothing inside: no signal, no ptrace.
      const probe = await b.commands.run(`${syscallProbe(`'ptrace': call('ptrace', 16, ${server().child.pid}, 0, 0)`)}
kill -0 ${server().child.pid} 2>&1; echo kill=$?`, { user: 'root' });
      assert.match(probe.stdout, /"ptrace": "(ESRCH|EPERM)"/);
      assert.match(probe.stdout, /kill=1$/m);

      const port = (hostService.address() as AddressInfo).port;
      for (const url of [`http://127.0.0.1:${port}/`, `http://${gatewayAddress(b.sandboxId)}:${port}/`]) {
        const r = await b.commands.run(`curl -sS -m 3 ${url}; echo " exit=$?"`);
        assert.doesNotMatch(r.stdout, /host loopback secret/, `${url} must not reach the host's loopback service`);
      }
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'host loopback secret\n', 'the service is there for the host');
    } finally {
      await Promise.all([a.kill(), b.kill()]);
    }
  });

  it('refuses, even to root inside: host file systems, device nodes, new namespaces, kernel modules, raw devices', async () => {
    const sbx = await Sandbox.create();
    try {
      const attempt = async (command: string) => {
        const r = await sbx.commands.run(`${command} > /tmp/attempt.out 2>&1; echo $?; cat /tmp/attempt.out`, { user: 'root' });
        const [status, ...output] = r.stdout.split('\n');
        return { status: Number(status), output: output.join('\n') };
      };
      const refused = [
        'mknod /tmp/disk b 254 0', // a block device node of the host's disk
        'mknod /tmp/mem c 1 1', // /dev/mem
        'mkdir -p /mnt/s && mount -t sysfs sysfs /mnt/s',
        'unshare -U true',
        'unshare -m true',
        'unshare -n true',
        'head -c 1 /dev/mem',
        'head -c 1 /dev/kmsg',
        'echo 1 > /proc/sys/kernel/sysrq',
        'echo /tmp/x > /proc/sys/kernel/core_pattern',
      ];
      for (const command of refused) {
        const r = await attempt(command);
        assert.notEqual(r.status, 0, `\`${command}\` must be refused inside a sandbox, it printed: ${r.output}`);
      }
      assert.equal((await sbx.commands.run('find /dev -type b', { user: 'root' })).stdout, '', 'no block device to mount');
      const devices = (await sbx.commands.run('ls /dev')).stdout.split('\n');
      for (const raw of ['mem', 'kmem', 'port', 'kmsg', 'vda', 'sda', 'nvme0n1', 'loop0']) assert.ok(!devices.includes(raw), `/dev/${raw} is not in a sandbox`);

      const modules = await sbx.commands.run(syscallProbe(`'init_module': call('init_module', None, 0, b''), 'finit_module': call('finit_module', 0, b'', 0), 'delete_module': call('delete_module', b'ext4', 0)`), { user: 'root' });
      assert.deepEqual(JSON.parse(modules.stdout), { init_module: 'EPERM', finit_module: 'EPERM', delete_module: 'EPERM' });

      // What root in a sandbox legitimately does still works: mounts of kinds a user namespace may
      // make (tmpfs here; FUSE in userns.test.ts), in the sandbox's own mount namespace.
      assert.equal((await sbx.commands.run('mkdir -p /mnt/t && mount -t tmpfs tmpfs /mnt/t && echo ok > /mnt/t/f && cat /mnt/t/f', { user: 'root' })).stdout, 'ok\n');
    } finally {
      await sbx.kill();
    }
  });
});
