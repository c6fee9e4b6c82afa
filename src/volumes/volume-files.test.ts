import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, it } from 'node:test';
import { SandcastleError } from '../errors.js';
import { VolumeFiles } from './volume-files.js';
import { VolumeStorage } from './volume-storage.js';

let dir: string;
let files: VolumeFiles;
let outside: string;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-volume-files-'));
  const storage = new VolumeStorage(path.join(dir, 'volumes'), undefined);
  await storage.make('vol-1');
  const root = storage.root('vol-1');
  outside = path.join(dir, 'secret');
  writeFileSync(outside, 'host secret');
  mkdirSync(path.join(root, 'd'));
  writeFileSync(path.join(root, 'd', 'f.txt'), 'inside');
  symlinkSync('d/f.txt', path.join(root, 'rel-link'));
  symlinkSync(outside, path.join(root, 'abs-link'));
  symlinkSync('../../../secret', path.join(root, 'climb-link'));
  symlinkSync('/', path.join(root, 'root-link'));
  files = new VolumeFiles(root, storage);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (err) {
    if (err instanceof SandcastleError) return err.status;
    throw err;
  }
}

const text = async (p: string) => {
  const { handle } = await files.read(p);
  try {
    return (await handle.readFile()).toString();
  } finally {
    await handle.close();
  }
};

it('reads, writes and lists inside the volume, following relative symlinks that stay inside', async () => {
  assert.equal(await text('/d/f.txt'), 'inside');
  assert.equal(await text('rel-link'), 'inside');
  const written = await files.write('/new/deep/x.txt', Readable.from([Buffer.from('hello')]), {});
  assert.equal(written.size, 5);
  assert.equal(written.path, '/new/deep/x.txt');
  assert.equal(await text('/new/deep/x.txt'), 'hello');
  const names = (await files.list('/', 2)).map((e) => e.path);
  assert.ok(names.includes('/new/deep') && names.includes('/d/f.txt'), names.join(' '));
  const link = await files.stat('/abs-link');
  assert.equal(link.type, 'symlink');
  assert.equal(link.target, outside);
  await files.remove('/new');
  assert.equal(await status(files.stat('/new')), 404);
});

it('refuses every path that leaves the volume (400) and touches nothing outside', async () => {
  for (const p of ['/../secret', '/abs-link', '/climb-link', '/root-link/etc/passwd', '/d/../../secret']) {
    assert.equal(await status(files.read(p)), 400, `read ${p}`);
    assert.equal(await status(files.write(p, Readable.from([Buffer.from('pwned')]), {})), 400, `write ${p}`);
  }
  assert.equal(await status(files.list('/root-link')), 400);
  assert.equal(await status(files.makeDir('/root-link/tmp/x', { force: true })), 400);
  assert.equal(readFileSync(outside, 'utf8'), 'host secret');
  // Removing the symlink removes the link only.
  await files.remove('/abs-link');
  assert.ok(existsSync(outside));
});
