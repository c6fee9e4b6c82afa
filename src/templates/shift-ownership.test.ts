import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, chown, lchown, link, lstat, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { shiftOwnership } from './shift-ownership.js';

const mapping = { base: 100_000, size: 65_536 };
/** cap_net_raw+ep as a version 2 security.capability (what `setcap cap_net_raw+ep` writes). */
const pingCapability = '0x0100000200200000000000000000000000000000';
let root: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-shift-'));
  await mkdir(path.join(root, 'home/user'), { recursive: true });
  await chown(path.join(root, 'home/user'), 1000, 1000);
  await chmod(path.join(root, 'home/user'), 0o2750);
  await writeFile(path.join(root, 'sudo'), 'x');
  await chmod(path.join(root, 'sudo'), 0o4755);
  await writeFile(path.join(root, 'wall'), 'x');
  await chown(path.join(root, 'wall'), 0, 5);
  await chmod(path.join(root, 'wall'), 0o2755);
  await link(path.join(root, 'sudo'), path.join(root, 'home/sudo-link'));
  await writeFile(path.join(root, 'ping'), 'x');
  execFileSync('setfattr', ['-n', 'security.capability', '-v', pingCapability, path.join(root, 'ping')]);
  await symlink('/nonexistent', path.join(root, 'dangling'));
  await lchown(path.join(root, 'dangling'), 70_000, 70_000);
  // overlayfs' own marks: a whiteout and an opaque folder.
  execFileSync('mknod', [path.join(root, 'gone'), 'c', '0', '0']);
  await mkdir(path.join(root, 'opaque'));
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', path.join(root, 'opaque')]);
});
after(() => rm(root, { recursive: true, force: true }));

describe('shiftOwnership', () => {
  it('gives every owner inside the range its host id and keeps modes, capabilities and overlay marks', async () => {
    const report = await shiftOwnership(root, mapping);
    assert.equal(report.seen, 10);
    const owner = async (rel: string) => {
      const s = await lstat(path.join(root, rel));
      return [s.uid, s.gid, s.mode & 0o7777];
    };
    assert.deepEqual(await owner(''), [100_000, 100_000, 0o700]);
    assert.deepEqual(await owner('home/user'), [101_000, 101_000, 0o2750]);
    assert.deepEqual(await owner('sudo'), [100_000, 100_000, 0o4755]);
    assert.deepEqual(await owner('home/sudo-link'), [100_000, 100_000, 0o4755]);
    assert.deepEqual(await owner('wall'), [100_000, 100_005, 0o2755]);
    assert.deepEqual((await owner('dangling')).slice(0, 2), [70_000, 70_000]);
    assert.match(execFileSync('getfattr', ['--absolute-names', '-e', 'hex', '-n', 'security.capability', path.join(root, 'ping')]).toString(), new RegExp(`=${pingCapability}$`, 'm'));
    const gone = await lstat(path.join(root, 'gone'));
    assert.ok(gone.isCharacterDevice() && gone.rdev === 0);
    assert.match(execFileSync('getfattr', ['--absolute-names', '-n', 'trusted.overlay.opaque', path.join(root, 'opaque')]).toString(), /="y"/);
  });

  it('changes nothing the second time', async () => {
    const report = await shiftOwnership(root, mapping);
    assert.equal(report.changed, 0);
    assert.equal((await lstat(path.join(root, 'sudo'))).uid, 100_000);
  });
});
