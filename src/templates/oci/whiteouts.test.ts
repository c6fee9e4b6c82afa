import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { convertWhiteouts, planWhiteouts } from './whiteouts.js';

test('whiteout files become whiteouts, the opaque mark an opaque folder, aufs bookkeeping goes', () => {
  assert.deepEqual(planWhiteouts(['etc/.wh.motd', '.wh.opt', 'var/lib/apt/lists/.wh..wh..opq', '.wh..wh.plnk', 'a/.wh..', 'a/.wh.']), {
    remove: ['etc/.wh.motd', '.wh.opt', 'var/lib/apt/lists/.wh..wh..opq', '.wh..wh.plnk', 'a/.wh..', 'a/.wh.'],
    whiteouts: ['etc/motd', 'opt'],
    opaqueDirs: ['var/lib/apt/lists'],
  });
  assert.deepEqual(planWhiteouts(['etc/hosts.wh.x', 'etc/x.wh.']), { remove: [], whiteouts: [], opaqueDirs: [] });
});

test('an unpacked layer is converted in place for overlayfs (needs root)', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-whiteouts-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(path.join(root, 'etc'));
  await mkdir(path.join(root, 'data'));
  await mkdir(path.join(root, '.wh..wh.plnk'));
  await writeFile(path.join(root, '.wh..wh.plnk', '.wh.inner'), '');
  await writeFile(path.join(root, 'etc', '.wh.gone'), '');
  await writeFile(path.join(root, 'data', '.wh..wh..opq'), '');
  await writeFile(path.join(root, 'data', 'new'), 'new');
  // A file of this layer with a whiteout of the same name: the file stays (it hides the lower one anyway).
  await writeFile(path.join(root, 'etc', 'kept'), 'kept');
  await writeFile(path.join(root, 'etc', '.wh.kept'), '');

  assert.equal(await convertWhiteouts(root), 4);

  const gone = lstatSync(path.join(root, 'etc', 'gone'));
  assert.ok(gone.isCharacterDevice(), 'etc/gone is a character device');
  assert.equal(gone.rdev, 0, 'device 0:0');
  assert.equal(lstatSync(path.join(root, 'etc', 'kept')).isFile(), true);
  assert.deepEqual((await readdir(path.join(root, 'etc'))).sort(), ['gone', 'kept']);
  assert.deepEqual(await readdir(path.join(root, 'data')), ['new']);
  assert.deepEqual((await readdir(root)).sort(), ['data', 'etc']);
  const opaque = execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'trusted.overlay.opaque', path.join(root, 'data')], { encoding: 'utf8' });
  assert.equal(opaque, 'y');
});
