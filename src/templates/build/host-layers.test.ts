import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LayeredRoot, makeFoldersLike, writeCopyLayer, writeUserAccountLayer } from './host-layers.js';

let dir: string;
let lower: string;
let layer: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-host-layers-'));
  lower = path.join(dir, 'lower');
  layer = path.join(dir, 'layer');
  await mkdir(path.join(lower, 'etc'), { recursive: true });
  await mkdir(path.join(lower, 'usr/bin'), { recursive: true });
  await symlink('usr/bin', path.join(lower, 'bin'));
  await mkdir(path.join(lower, 'home/user'), { recursive: true });
  await chown(path.join(lower, 'home/user'), 1000, 1000);
  await chmod(path.join(lower, 'home/user'), 0o750);
  await writeFile(path.join(lower, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/bash\n');
  await writeFile(path.join(lower, 'etc/group'), 'root:x:0:\nuser:x:1000:\nstaff:x:50:\n');
  await mkdir(layer);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('LayeredRoot', () => {
  it('resolves symlinks inside the root and reads accounts', async () => {
    const root = new LayeredRoot([lower]);
    assert.equal(await root.resolve('/bin/tool'), 'usr/bin/tool');
    assert.equal(await root.resolve('/home/user/../user/./app'), 'home/user/app');
    assert.deepEqual(await root.account('user'), { uid: 1000, gid: 1000 });
    assert.deepEqual(await root.account('user:staff'), { uid: 1000, gid: 50 });
    assert.deepEqual(await root.account('1234:5'), { uid: 1234, gid: 5 });
    await assert.rejects(root.account('nobody'), /user "nobody" does not exist/);
  });
});

describe('host-made layers', () => {
  it('new folders keep the owner and mode the layers below give them', async () => {
    await makeFoldersLike(layer, new LayeredRoot([lower]), 'home/user/app/data', { uid: 1000, gid: 1000 });
    const home = await lstat(path.join(layer, 'home/user'));
    assert.equal(home.uid, 1000);
    assert.equal(home.mode & 0o777, 0o750);
    assert.equal((await lstat(path.join(layer, 'home'))).uid, 0);
    assert.equal((await lstat(path.join(layer, 'home/user/app/data'))).uid, 1000);
  });

  it('COPY puts a folder\'s contents into dest and files into a folder dest, owned and moded as asked', async () => {
    const ctx = path.join(dir, 'ctx');
    await mkdir(path.join(ctx, 'app/sub'), { recursive: true });
    await writeFile(path.join(ctx, 'app/a.txt'), 'a');
    await writeFile(path.join(ctx, 'app/sub/b.txt'), 'b');
    await writeFile(path.join(ctx, 'one.txt'), '1');
    await writeFile(path.join(ctx, 'two.txt'), '2');
    const tar = path.join(dir, 'ctx.tar.gz');
    execFileSync('tar', ['-czf', tar, '-C', ctx, 'app', 'one.txt', 'two.txt']);
    const root = new LayeredRoot([lower]);
    const owner = { uid: 1000, gid: 1000 };
    await writeCopyLayer(layer, root, tar, path.join(dir, 's1'), { src: 'app/', dest: '/home/user/app/', owner, workdir: '/' });
    assert.equal(await readFile(path.join(layer, 'home/user/app/sub/b.txt'), 'utf8'), 'b');
    assert.equal((await lstat(path.join(layer, 'home/user/app/a.txt'))).uid, 1000);
    await writeCopyLayer(layer, root, tar, path.join(dir, 's2'), { src: '*.txt', dest: 'texts', owner, mode: 0o600, workdir: '/home/user' });
    assert.equal(await readFile(path.join(layer, 'home/user/texts/two.txt'), 'utf8'), '2');
    assert.equal((await lstat(path.join(layer, 'home/user/texts/one.txt'))).mode & 0o777, 0o600);
    await writeCopyLayer(layer, root, tar, path.join(dir, 's3'), { src: 'one.txt', dest: '/bin/one', owner, workdir: '/' });
    assert.equal(await readFile(path.join(layer, 'usr/bin/one'), 'utf8'), '1');
    await assert.rejects(writeCopyLayer(layer, root, tar, path.join(dir, 's4'), { src: 'missing/', dest: '/x', owner, workdir: '/' }), /no file in the upload matches/);
  });

  it('adds the user account to an image without one, and nothing to one that has it', async () => {
    assert.equal(await writeUserAccountLayer(layer, new LayeredRoot([lower])), false);
    await writeFile(path.join(lower, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh');
    await writeFile(path.join(lower, 'etc/group'), 'root:x:0:\n');
    await rm(path.join(lower, 'home'), { recursive: true });
    assert.equal(await writeUserAccountLayer(layer, new LayeredRoot([lower])), true);
    assert.match(await readFile(path.join(layer, 'etc/passwd'), 'utf8'), /^root:x:0:0::\/root:\/bin\/sh\nuser:x:1000:1000::\/home\/user:\/bin\/sh\n$/);
    assert.match(await readFile(path.join(layer, 'etc/group'), 'utf8'), /user:x:1000:/);
    assert.equal((await lstat(path.join(layer, 'home/user'))).uid, 1000);
  });

  it('in a user namespace, owners the layer gives are host ids of the mapping; owners copied from below are kept', async () => {
    const userns = { base: 100_000, size: 65_536 };
    // The layers below are shifted already, as the server makes them.
    await chown(path.join(lower, 'home/user'), 101_000, 101_000);
    const ctx = path.join(dir, 'ctx');
    await mkdir(ctx);
    await writeFile(path.join(ctx, 'a.txt'), 'a');
    const tar = path.join(dir, 'ctx.tar.gz');
    execFileSync('tar', ['-czf', tar, '-C', ctx, 'a.txt']);
    const root = new LayeredRoot([lower], userns);
    await writeCopyLayer(layer, root, tar, path.join(dir, 's1'), { src: 'a.txt', dest: '/srv/data/', owner: { uid: 1000, gid: 50 }, workdir: '/' });
    const owner = async (rel: string) => {
      const s = await lstat(path.join(layer, rel));
      return [s.uid, s.gid];
    };
    assert.deepEqual(await owner('srv/data/a.txt'), [101_000, 100_050]);
    assert.deepEqual(await owner('srv/data'), [101_000, 100_050]);
    await makeFoldersLike(layer, root, 'home/user/app');
    assert.deepEqual(await owner('home/user'), [101_000, 101_000]);
    assert.deepEqual(await owner('home/user/app'), [100_000, 100_000]);

    const accounts = path.join(dir, 'accounts');
    await mkdir(accounts);
    await writeFile(path.join(lower, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh');
    await writeFile(path.join(lower, 'etc/group'), 'root:x:0:\n');
    await rm(path.join(lower, 'home'), { recursive: true });
    assert.equal(await writeUserAccountLayer(accounts, root), true);
    for (const [rel, ids] of [['etc/passwd', [100_000, 100_000]], ['etc/group', [100_000, 100_000]], ['home/user', [101_000, 101_000]]] as const) {
      const s = await lstat(path.join(accounts, rel));
      assert.deepEqual([s.uid, s.gid], ids, rel);
    }
  });
});
