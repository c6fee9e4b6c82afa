// Sandboxes in their own user namespace (SANDCASTLE_USERNS=1), through the unmodified e2b SDK:
// root inside is an unprivileged uid on the host, and still has what root needs in a sandbox —
// sudo, low ports, apt-get, FUSE mounts — across a pause and a resume.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Sandbox, Template } from 'e2b';
import { dataFiles } from '../src/config.js';
import { useTestServer } from './support/server-process.js';
import { sandboxAddress } from './support/sandbox-network.js';

const base = 100_000;
const server = useTestServer({ env: { SANDCASTLE_USERNS: '1', SANDCASTLE_USERNS_BASE: String(base), SANDCASTLE_USERNS_SIZE: '65536' } });

/** The host's view of a sandbox's init process (runc's state of the container). */
function hostStatus(sandboxId: string): { pid: number; uids: number[]; gids: number[] } {
  const runcRoot = path.join(server.current().dataDir, 'runc');
  const { pid } = JSON.parse(execFileSync('runc', ['--root', runcRoot, 'state', sandboxId]).toString()) as { pid: number };
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const ids = (name: string) => /^(\w+):\s+(.*)$/m.exec(status.split('\n').find((l) => l.startsWith(`${name}:`))!)![2]!.split(/\s+/).map(Number);
  return { pid, uids: ids('Uid'), gids: ids('Gid') };
}

/** On the sandbox's own disk (src/runtime/runc/sandbox-disk.ts), or in its bundle without quotas. */
function writableLayer(sandboxId: string): string {
  const bundle = path.join(dataFiles(server.current().dataDir).sandboxes, sandboxId);
  return existsSync(path.join(bundle, 'disk')) ? path.join(bundle, 'disk', 'upper') : path.join(bundle, 'upper');
}

describe('sandboxes in a user namespace', () => {
  it('root inside is the mapped uid on the host; sudo still makes root inside; files root makes are the mapped uid\'s', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    try {
      const host = hostStatus(sbx.sandboxId);
      assert.deepEqual(host.uids, [base, base, base, base]);
      assert.deepEqual(host.gids, [base, base, base, base]);

      const inside = await sbx.commands.run('id -u; cat /proc/self/uid_map', { user: 'root' });
      assert.equal(inside.stdout.split('\n')[0], '0');
      assert.match(inside.stdout, /^\s*0\s+100000\s+65536$/m);
      const sudo = await sbx.commands.run('sudo -n id');
      assert.equal(sudo.stdout.trim(), 'uid=0(root) gid=0(root) groups=0(root)');

      await sbx.commands.run('echo made by root > /made-by-root', { user: 'root' });
      await sbx.commands.run('echo made by user > /home/user/made-by-user');
      const byRoot = lstatSync(path.join(writableLayer(sbx.sandboxId), 'made-by-root'));
      assert.deepEqual([byRoot.uid, byRoot.gid], [base, base]);
      const byUser = lstatSync(path.join(writableLayer(sbx.sandboxId), 'home/user/made-by-user'));
      assert.deepEqual([byUser.uid, byUser.gid], [base + 1000, base + 1000]);

    } finally {
      await sbx.kill();
    }
  });

  it('root binds a port below 1024 and user answers on it', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    try {
      await sbx.commands.run('cd /tmp && echo low port > index.html && python3 -m http.server 80 --bind 0.0.0.0', { user: 'root', background: true });
      let body = '';
      for (let i = 0; i < 50 && body !== 'low port'; i++) {
        body = (await sbx.commands.run('curl -s http://127.0.0.1:80/index.html || true')).stdout.trim();
        if (body !== 'low port') await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(body, 'low port');
    } finally {
      await sbx.kill();
    }
  });

  it('resumes with a connection the host half-closed (CLOSE_WAIT inside) and one it keeps open', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    const sockets: net.Socket[] = [];
    try {
      // A server that never closes what it accepted: a peer's FIN leaves its side in CLOSE_WAIT.
      await sbx.files.write('/tmp/hold.py', 'import socket, time\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(("0.0.0.0", 9000))\ns.listen()\nkept = []\nwhile True:\n    c, _ = s.accept()\n    kept.append(c)\n');
      await sbx.commands.run('python3 /tmp/hold.py', { background: true });
      const connect = async () => {
        for (let i = 0; ; i++) {
          try {
            return await new Promise<net.Socket>((resolve, reject) => {
              const sock = net.connect(9000, sandboxAddress(sbx.sandboxId), () => resolve(sock));
              sock.once('error', reject);
            });
          } catch (err) {
            if (i > 50) throw err;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      };
      const open = await connect();
      const halfClosed = await connect();
      sockets.push(open, halfClosed);
      open.on('error', () => undefined);
      halfClosed.on('error', () => undefined);
      halfClosed.end();
      const states = async () => (await sbx.commands.run('cat /proc/net/tcp')).stdout;
      // 08 is CLOSE_WAIT, 01 ESTABLISHED, for local port 9000 (0x2328).
      for (let i = 0; i < 50 && !/:2328 \S+ 08 /.test(await states()); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(await states(), /:2328 \S+ 08 /, 'the half-closed connection is in CLOSE_WAIT inside');
      const server = (await sbx.commands.run('pgrep -f hold.py')).stdout.trim();

      assert.ok(await sbx.betaPause());
      await sbx.connect();
      assert.equal((await sbx.commands.run('pgrep -f hold.py')).stdout.trim(), server, 'the server runs on after the resume');
    } finally {
      for (const s of sockets) s.destroy();
      await sbx.kill();
    }
  });

  it('a template built with apt-get mounts FUSE file systems as root (mount -t fuse) and as user; a pause waits for their unmount and keeps files and processes', async () => {
    // bindfs: a FUSE file system from Debian's archive (the base template has none); fuse3 brings
    // fusermount3 and mount.fuse3, which look for /etc/mtab.
    const t = Template().fromTemplate('base').aptInstall(['bindfs', 'fuse3'])
      .runCmd('ln -sf /proc/self/mounts /etc/mtab && mkdir -p /srv/src /srv/as-root /srv/as-user && echo through fuse > /srv/src/hello && chown user:user /srv/as-user', { user: 'root' });
    await Template.build(t, 'userns-fuse', { cpuCount: 1, memoryMB: 512 });
    const sbx = await Sandbox.create('userns-fuse', { timeoutMs: 120_000 });
    try {
      const asRoot = await sbx.commands.run('mount -t fuse.bindfs /srv/src /srv/as-root && cat /srv/as-root/hello && grep " /srv/as-root " /proc/mounts', { user: 'root' });
      assert.match(asRoot.stdout, /^through fuse\n\/srv\/src \/srv\/as-root fuse rw,.*user_id=0,group_id=0/);
      const asUser = await sbx.commands.run('bindfs --no-allow-other /srv/src /srv/as-user && cat /srv/as-user/hello && fusermount3 -u /srv/as-user && echo unmounted');
      assert.equal(asUser.stdout, 'through fuse\nunmounted\n');

      await sbx.commands.run('echo before pause > /home/user/kept; (sleep 600 >/dev/null 2>&1 &)', { user: 'root' });
      const sleeper = (await sbx.commands.run('pgrep -x sleep')).stdout.trim();
      // The kernel's side of a FUSE connection cannot be saved: the pause is refused, saying why,
      // and the sandbox runs on with its mount.
      await assert.rejects(sbx.betaPause(), /holds \/dev\/fuse: unmount the FUSE file systems/);
      assert.equal((await sbx.commands.run('cat /srv/as-root/hello')).stdout, 'through fuse\n');

      await sbx.commands.run('umount /srv/as-root', { user: 'root' });
      assert.ok(await sbx.betaPause());
      await sbx.connect();
      assert.deepEqual(hostStatus(sbx.sandboxId).uids, [base, base, base, base], 'the restored sandbox is the mapped uid again');
      assert.equal(await sbx.files.read('/home/user/kept'), 'before pause\n');
      assert.equal((await sbx.commands.run('pgrep -x sleep')).stdout.trim(), sleeper, 'the same process runs on');
      const again = await sbx.commands.run('sudo -n id -u && sudo -n mount -t fuse.bindfs /srv/src /srv/as-root && cat /srv/as-root/hello');
      assert.equal(again.stdout, '0\nthrough fuse\n');
    } finally {
      await sbx.kill();
    }
  });
});
