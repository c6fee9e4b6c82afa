// Sandboxes of images that have none of what the base template has: envd runs on the node, loader
// and libraries mounted at /opt/sandcastle under the mounted static tini, so it answers in a root
// filesystem with no libc, no shell and no init ("distroless"), and in one whose only programs are
// a static busybox beside musl's loader (like Alpine). Both roots are made here from host files.
import { Code, ConnectError, createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, chown, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { Process } from '../src/envd/gen/envd/process_pb.js';
import { envdPort } from '../src/protocol.js';
import { NetworkRange } from '../src/runtime/network/network-lease.js';
import { RuncRuntime } from '../src/runtime/runc/runc-runtime.js';
import type { SandboxSpec } from '../src/runtime/runtime.js';
import { initEnvd, waitForHealth } from '../src/sandboxes/envd-client.js';
import { shiftOwnership } from '../src/templates/shift-ownership.js';

const userUid = 1000;
const token = `token-${randomBytes(8).toString('hex')}`;

/** /etc/passwd, /etc/group, homes for root and `user`, /tmp: what a registry image has once the
 *  template build has added `user`. */
async function accounts(root: string, shell: string): Promise<void> {
  await mkdir(path.join(root, 'etc'), { recursive: true });
  await writeFile(path.join(root, 'etc', 'passwd'), `root:x:0:0:root:/root:${shell}\nuser:x:${userUid}:${userUid}:user:/home/user:${shell}\n`);
  await writeFile(path.join(root, 'etc', 'group'), `root:x:0:\nuser:x:${userUid}:\n`);
  await mkdir(path.join(root, 'root'), { mode: 0o700 });
  await mkdir(path.join(root, 'home', 'user'), { recursive: true });
  await chown(path.join(root, 'home', 'user'), userUid, userUid);
  await mkdir(path.join(root, 'tmp'));
  await chmod(path.join(root, 'tmp'), 0o1777);
}

async function distroless(root: string): Promise<void> {
  await accounts(root, '/sbin/nologin');
}

/** Debian's busybox-static as every program, musl's libc as its loader (neither is glibc). */
async function muslLike(root: string): Promise<void> {
  await accounts(root, '/bin/sh');
  await mkdir(path.join(root, 'bin'));
  await copyFile('/bin/busybox', path.join(root, 'bin', 'busybox'));
  for (const applet of ['sh', 'echo', 'cat', 'id', 'ls', 'pwd', 'sleep', 'setpriv']) await symlink('/bin/busybox', path.join(root, 'bin', applet));
  await mkdir(path.join(root, 'lib'));
  await copyFile('/lib/ld-musl-x86_64.so.1', path.join(root, 'lib', 'ld-musl-x86_64.so.1'));
}

function processClient(address: string, user?: string) {
  const headers: Interceptor = (next) => (req) => {
    req.header.set('X-Access-Token', token);
    if (user) req.header.set('Authorization', `Basic ${Buffer.from(`${user}:`).toString('base64')}`);
    return next(req);
  };
  const transport = createConnectTransport({ baseUrl: `http://${address}:${envdPort}`, httpVersion: '1.1', interceptors: [headers] });
  return createClient(Process, transport);
}

/** Runs a command through envd's process service as the SDKs do; its output and exit code. */
async function run(address: string, cmd: string, args: string[], user?: string): Promise<{ stdout: string; stderr: string; exitCode?: number }> {
  const out = { stdout: '', stderr: '', exitCode: undefined as number | undefined };
  for await (const msg of processClient(address, user).start({ process: { cmd, args, envs: {} }, stdin: false })) {
    const e = msg.event?.event;
    if (e?.case === 'data' && (e.value.output.case === 'stdout' || e.value.output.case === 'stderr')) {
      out[e.value.output.case] += Buffer.from(e.value.output.value).toString();
    } else if (e?.case === 'end') out.exitCode = e.value.exitCode;
  }
  return out;
}

describe('sandboxes of any root filesystem', () => {
  let dataDir: string;
  let runtime: RuncRuntime;
  let network: NetworkRange;
  let next = 0;
  const made: string[] = [];
  const roots: Record<'distroless' | 'musl', string> = { distroless: '', musl: '' };

  const spec = (layer: string, startCommand?: string): SandboxSpec => {
    const id = `k${randomBytes(10).toString('hex').slice(0, 19)}`;
    made.push(id);
    return { id, layers: [layer], cpuCount: 1, memoryMB: 256, pidsLimit: 512, network: network.lease(next++), startCommand };
  };

  /** Creates the sandbox, waits for envd and initialises it as the server does. */
  async function started(sp: SandboxSpec): Promise<string> {
    await runtime.create(sp);
    const address = sp.network.sandboxAddress;
    await waitForHealth(address, envdPort, 15_000);
    await initEnvd(address, { accessToken: token, envVars: {}, defaultUser: 'user' });
    return address;
  }

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-any-rootfs-'));
    const config = loadConfig({
      dataDir,
      runcRoot: path.join(dataDir, 'runc'),
      // Apart from the ranges of servers other tests run at the same time.
      networkCidr: `10.${192 + Math.floor(Math.random() * 32)}.0.0/16`,
    });
    runtime = new RuncRuntime(config, pino({ level: 'warn' }, pino.destination(2)));
    network = new NetworkRange(config.networkCidr);
    roots.distroless = path.join(dataDir, 'distroless');
    roots.musl = path.join(dataDir, 'musl');
    await distroless(roots.distroless);
    await muslLike(roots.musl);
    // Layers get the owners of the sandboxes' user namespace when they are made, as the server's.
    if (config.userns) for (const root of Object.values(roots)) await shiftOwnership(root, config.userns);
  });

  after(async () => {
    for (const id of made) await runtime.destroy(id);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('distroless (no libc, no shell, no init): envd answers; node re-runs itself; a shell command fails clearly', async () => {
    const address = await started(spec(roots.distroless));
    const health = await fetch(`http://${address}:${envdPort}/health`);
    assert.equal(health.status, 204);

    // The mounted node as `user`, starting another node through process.execPath.
    const script = 'const { execFileSync } = require("node:child_process"); console.log(process.execPath, execFileSync(process.execPath, ["-p", "6 * 7"]).toString().trim(), process.getuid())';
    const r = await run(address, '/opt/sandcastle/node', ['-e', script]);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout.trim(), `/opt/sandcastle/node 42 ${userUid}`);
    assert.equal(r.exitCode, 0);

    await assert.rejects(run(address, '/bin/bash', ['-l', '-c', 'echo hi']), (err: ConnectError) => {
      assert.equal(err.code, Code.InvalidArgument);
      assert.match(err.rawMessage, /error starting process '\/bin\/bash -l -c echo hi'.*ENOENT/);
      return true;
    });
    await assert.rejects(run(address, '/opt/sandcastle/node', ['-e', '0'], 'nobody'), (err: ConnectError) => {
      assert.equal(err.code, Code.Unauthenticated);
      assert.match(err.rawMessage, /'nobody' does not exist in the sandbox/);
      return true;
    });
  });

  it('distroless: a paused sandbox resumes with envd answering (CRIU with the mounted programs)', async () => {
    const sp = spec(roots.distroless);
    await started(sp);
    const ref = { kind: 'pause' as const, name: sp.id };
    await runtime.checkpoint(sp.id, ref, 'stop');
    await runtime.restore(sp, { checkpoint: ref, withSavedLayer: false });
    await waitForHealth(sp.network.sandboxAddress, envdPort, 5000);
    const r = await run(sp.network.sandboxAddress, '/opt/sandcastle/node', ['-p', '1 + 1']);
    assert.equal(r.stdout, '2\n');
    await runtime.deleteCheckpoint(ref);
  });

  it('musl-like (busybox, no glibc, no bash): commands fall back to /bin/sh and print through envd', async () => {
    const address = await started(spec(roots.musl, 'echo started > /tmp/start-command'));
    const r = await run(address, '/bin/bash', ['-l', '-c', 'echo "hello from $0"; id -u; pwd; cat /tmp/start-command']);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, `hello from /bin/sh\n${userUid}\n/home/user\nstarted\n`);
    assert.equal(r.exitCode, 0);
    const root = await run(address, '/bin/sh', ['-c', 'id -u; exit 3'], 'root');
    assert.deepEqual(root, { stdout: '0\n', stderr: '', exitCode: 3 });
  });
});
