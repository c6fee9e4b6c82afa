import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { mountDisk } from './mount-helper.js';
import { checkDiskSupport, diskPaths, diskUsedBytes, ensureDisk, mkfsArgs, removeDisk, usedBytes } from './sandbox-disk.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-disk-'));
after(async () => {
  await removeDisk(path.join(root, 'bundle'));
  rmSync(root, { recursive: true, force: true });
});

function loopDevicesOf(file: string): string[] {
  return execFileSync('losetup', ['-l', '-n', '-O', 'NAME,BACK-FILE'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(file));
}

it('mkfs: 4 KiB blocks, nothing reserved, no journal, no discard of the sparse file', () => {
  assert.deepEqual(mkfsArgs('/x/disk.ext4'), ['-q', '-F', '-b', '4096', '-m', '0', '-O', '^has_journal,^resize_inode,sparse_super2', '-E', 'lazy_itable_init=1,nodiscard,num_backup_sb=0', '/x/disk.ext4']);
});

it('used bytes count blocks in use, as df does', () => {
  assert.equal(usedBytes({ blocks: 1000, bfree: 750, bsize: 4096 }), 250 * 4096);
});

it('a disk holds its size and no more (ENOSPC), is sparse, reports its use, and goes with its loop device', async () => {
  const bundle = path.join(root, 'bundle');
  const { image, mount } = diskPaths(bundle);
  assert.equal(await diskUsedBytes(bundle), undefined);
  await ensureDisk(bundle, 32);
  assert.equal(await ensureDisk(bundle, 32), mount, 'a mounted disk is left as it is');
  const fs = statfsSync(mount);
  assert.ok(fs.blocks * fs.bsize > 0.9 * 32 * 2 ** 20 && fs.blocks * fs.bsize <= 32 * 2 ** 20, `size ${fs.blocks * fs.bsize}`);
  assert.ok(statSync(image).blocks * 512 < 8 * 2 ** 20, 'the image is sparse');

  writeFileSync(path.join(mount, 'small'), Buffer.alloc(4 * 2 ** 20, 1));
  const used = (await diskUsedBytes(bundle))!;
  assert.ok(used >= 4 * 2 ** 20 && used < 5 * 2 ** 20, `used ${used}`);
  assert.throws(() => writeFileSync(path.join(mount, 'big'), Buffer.alloc(40 * 2 ** 20, 2)), { code: 'ENOSPC' });

  // Unmounted (as after a host restart): checked and mounted again with its files.
  execFileSync('umount', [mount]);
  await ensureDisk(bundle, 32);
  assert.equal(readFileSync(path.join(mount, 'small')).length, 4 * 2 ** 20);

  assert.equal(loopDevicesOf(image).length, 1);
  assert.match(execFileSync('findmnt', ['-n', '-o', 'OPTIONS', mount], { encoding: 'utf8' }), /noatime.*discard/);
  await removeDisk(bundle);
  await removeDisk(bundle);
  assert.equal(existsSync(image), false);
  assert.deepEqual(loopDevicesOf(image), [], 'unmounting frees the loop device');
});

it('a disk that does not mount leaves no loop device and says why', async () => {
  const image = path.join(root, 'refused.ext4');
  const target = path.join(root, 'refused');
  mkdirSync(target);
  execFileSync('truncate', ['-s', '32M', image]);
  execFileSync('mkfs.ext4', mkfsArgs(image));
  await assert.rejects(mountDisk(image, target, 'no_such_option'), /mounting \/dev\/loop\d+ \(.*refused\.ext4\) on .*refused with no_such_option: Invalid argument/);
  assert.deepEqual(loopDevicesOf(image), []);
});

it('the start check makes and removes a probe disk, leaving nothing', async () => {
  await checkDiskSupport(root);
  assert.equal(existsSync(path.join(root, '.disk-check')), false);
  assert.deepEqual(loopDevicesOf(path.join(root, '.disk-check')), []);
});
