// Each sandbox's disk, through the unmodified SDK: a server whose sandboxes get 64 MiB
// (SANDCASTLE_DISK_MB) so the test writes little. Writing past it is ENOSPC inside, `df` shows the
// size, a neighbour still writes, the host holds no more than the disk's size, and the metrics'
// disk figures are the disk's own.
import assert from 'node:assert/strict';
import { existsSync, statfsSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CommandExitError, Sandbox } from 'novita-sandbox';
import { dataFiles } from '../src/config.js';
import { loopDevicesOf, startServerProcess, useTestServer } from './support/server-process.js';
import { waitFor } from './support/wait-for.js';

const MiB = 1024 * 1024;
const diskMB = 64;
const testServer = useTestServer({ env: { SANDCASTLE_DISK_MB: String(diskMB), SANDCASTLE_METRICS_INTERVAL_MS: '500' } });
const server = testServer.current;

function bundle(id: string): string {
  return path.join(dataFiles(server().dataDir).sandboxes, id);
}

/** Output and exit code of a command that may fail. */
async function run(sbx: Sandbox, cmd: string, user?: 'root'): Promise<{ out: string; exitCode: number }> {
  try {
    const r = await sbx.commands.run(cmd, { user });
    return { out: r.stdout + r.stderr, exitCode: r.exitCode };
  } catch (err) {
    if (!(err instanceof CommandExitError)) throw err;
    return { out: err.stdout + err.stderr, exitCode: err.exitCode };
  }
}

describe('a disk per sandbox', () => {
  it('writing past the disk is ENOSPC inside; df shows its size; a neighbour still writes; metrics come from the disk', async () => {
    const [full, neighbour] = await Promise.all([Sandbox.create({ timeoutMs: 120_000 }), Sandbox.create({ timeoutMs: 120_000 })]);
    try {
      const df = await run(full, 'df -B1 --output=size,fstype / | tail -n 1');
      const size = Number(df.out.trim().split(/\s+/)[0]);
      assert.ok(size > 0.9 * diskMB * MiB && size <= diskMB * MiB, `df / shows ${df.out.trim()}`);

      const dd = await run(full, `dd if=/dev/zero of=/home/user/fill bs=1M count=${2 * diskMB}`);
      assert.notEqual(dd.exitCode, 0);
      assert.match(dd.out, /No space left on device/);
      const fallocate = await run(full, `fallocate -l ${diskMB}M /home/user/more`, 'root');
      assert.notEqual(fallocate.exitCode, 0);
      assert.match(fallocate.out, /No space left on device/);

      // The host holds no more than the disk's size for it (its image is sparse).
      const image = path.join(bundle(full.sandboxId), 'disk.ext4');
      assert.ok(statSync(image).blocks * 512 <= (diskMB + 1) * MiB, `image takes ${statSync(image).blocks * 512} bytes`);

      const ok = await run(neighbour, 'head -c 8M /dev/zero > /home/user/blob && sync && echo written');
      assert.equal(ok.out.trim(), 'written');

      // The metrics' disk figures: the disk's size, and what its statfs counts as used.
      const hostUsed = () => {
        const st = statfsSync(path.join(bundle(full.sandboxId), 'disk'));
        return (st.blocks - st.bfree) * st.bsize;
      };
      const samples = await waitFor('a sample of the full disk', () => full.getMetrics(), (m) => m.length > 0 && m[m.length - 1]!.diskUsed >= 0.9 * diskMB * MiB);
      const last = samples[samples.length - 1]!;
      assert.equal(last.diskTotal, diskMB * MiB);
      assert.ok(Math.abs(last.diskUsed - hostUsed()) < MiB, `metrics ${last.diskUsed}, disk ${hostUsed()}`);
      const other = await waitFor('a sample of the neighbour', () => neighbour.getMetrics(), (m) => m.length > 0 && m[m.length - 1]!.diskUsed >= 8 * MiB);
      assert.ok(other[other.length - 1]!.diskUsed < 16 * MiB);

      // Space freed inside is writable again.
      const again = await run(full, 'rm /home/user/fill && head -c 4M /dev/zero > /home/user/after && echo written');
      assert.equal(again.out.trim(), 'written');
    } finally {
      await Promise.all([full.kill(), neighbour.kill()]);
    }
    for (const id of [full.sandboxId, neighbour.sandboxId]) {
      assert.equal(existsSync(bundle(id)), false, `${id}'s folder and disk are gone`);
      // The kernel detaches an auto-clear loop device after its unmount, in the background.
      await waitFor(`${id}'s loop device to be freed`, async () => loopDevicesOf(id), (devices) => devices.length === 0, 5_000);
    }
  });

  it('a pause, a resume and a snapshot keep the disk and its size', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    try {
      await sbx.commands.run('head -c 16M /dev/zero > /home/user/kept');
      await sbx.betaPause();
      const resumed = await Sandbox.connect(sbx.sandboxId, { timeoutMs: 120_000 });
      assert.equal((await run(resumed, 'stat -c %s /home/user/kept')).out.trim(), String(16 * MiB));
      const snapshot = await resumed.createSnapshot();
      const copy = await Sandbox.create(snapshot.snapshotId, { timeoutMs: 120_000 });
      try {
        assert.equal((await run(copy, 'stat -c %s /home/user/kept')).out.trim(), String(16 * MiB));
        const df = await run(copy, 'df -B1 --output=size / | tail -n 1');
        assert.ok(Number(df.out.trim()) <= diskMB * MiB, `df / shows ${df.out.trim()}`);
        const dd = await run(copy, `dd if=/dev/zero of=/home/user/fill bs=1M count=${2 * diskMB}`);
        assert.match(dd.out, /No space left on device/);
      } finally {
        await copy.kill();
        await Sandbox.deleteSnapshot(snapshot.snapshotId).catch(() => undefined);
      }
    } finally {
      await sbx.kill();
    }
  });

  it('a server killed with SIGKILL finds a running sandbox on its still-mounted disk', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    try {
      await sbx.commands.run('head -c 8M /dev/zero > /home/user/kept');
      const loops = loopDevicesOf(sbx.sandboxId);
      assert.equal(loops.length, 1);
      const crashed = server();
      await crashed.crash();
      testServer.replace(await startServerProcess({ dataDir: crashed.dataDir, env: { ...crashed.env, SANDCASTLE_PORT: new URL(crashed.url).port } }));
      const again = await Sandbox.connect(sbx.sandboxId, { timeoutMs: 120_000 });
      assert.equal((await run(again, 'stat -c %s /home/user/kept')).out.trim(), String(8 * MiB));
      assert.match((await run(again, `dd if=/dev/zero of=/home/user/fill bs=1M count=${2 * diskMB}`)).out, /No space left on device/);
      assert.deepEqual(loopDevicesOf(sbx.sandboxId), loops, 'the same disk, not a second one');
    } finally {
      await sbx.kill();
    }
  });
});
