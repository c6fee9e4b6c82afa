import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ensureLayer, layerFolderName, removeStalePartials } from './layer-store.js';

const digest = `sha256:${'1f'.repeat(32)}`;

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-layer-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** An uncompressed layer archive of `files`. */
async function archive(dir: string, files: Record<string, string>): Promise<Buffer> {
  const src = path.join(dir, 'src');
  await mkdir(src);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(src, name), text);
  return execFileSync('tar', ['-cf', '-', '-C', src, '.']);
}

test('a layer is unpacked into a folder named by its digest, once', async (t) => {
  const dir = await scratch(t);
  const file = path.join(dir, 'blob');
  await writeFile(file, await archive(dir, { a: 'a', '.wh.b': '' }));
  const layersDir = path.join(dir, 'layers');
  const lines: string[] = [];
  const layer = { digest, compression: 'none' as const, file, size: 1 };
  const [one, two] = await Promise.all([ensureLayer(layersDir, layer, { log: (l) => lines.push(l) }), ensureLayer(layersDir, layer, { log: (l) => lines.push(l) })]);
  assert.equal(one, path.join(layersDir, layerFolderName(digest)));
  assert.equal(two, one);
  assert.deepEqual(readdirSync(one).sort(), ['a', 'b']);
  assert.equal(lines.filter((l) => l.includes('unpacked (')).length, 1, lines.join('\n'));
  await ensureLayer(layersDir, layer, { log: (l) => lines.push(l) });
  assert.match(lines.at(-1)!, /already unpacked/);
});

test('when another process finishes the same layer first, its folder is kept and ours dropped', async (t) => {
  const dir = await scratch(t);
  const data = await archive(dir, { ours: 'x' });
  // tar reads the blob from a pipe, so the unpack waits for us between its start and its rename.
  const fifo = path.join(dir, 'blob');
  execFileSync('mkfifo', [fifo]);
  const layersDir = path.join(dir, 'layers');
  const pending = ensureLayer(layersDir, { digest, compression: 'none', file: fifo, size: 1 }, { log: () => undefined });
  const writer = await open(fifo, 'w'); // returns once tar has opened the pipe
  const theirs = path.join(layersDir, layerFolderName(digest));
  await mkdir(theirs);
  await writeFile(path.join(theirs, 'theirs'), 'y');
  await writer.write(data);
  await writer.close();
  assert.equal(await pending, theirs);
  assert.deepEqual(readdirSync(theirs), ['theirs']);
  assert.deepEqual(readdirSync(layersDir), [layerFolderName(digest)], 'our temporary folder is gone');
});

test('a layer that fails to unpack leaves nothing and says which layer', async (t) => {
  const dir = await scratch(t);
  const file = path.join(dir, 'blob');
  await writeFile(file, 'not a tar archive');
  const layersDir = path.join(dir, 'layers');
  await assert.rejects(ensureLayer(layersDir, { digest, compression: 'gzip', file, size: 1 }, { log: () => undefined }), new RegExp(`unpacking layer ${digest} failed: tar`));
  assert.deepEqual(readdirSync(layersDir), []);
});

test('temporary folders of dead processes are removed, those of live ones kept', async (t) => {
  const dir = await scratch(t);
  const dead = path.join(dir, `.partial-999999999-abcd-${layerFolderName(digest)}`);
  const live = path.join(dir, `.partial-${process.ppid}-abcd-${layerFolderName(digest)}`);
  for (const d of [dead, live]) await mkdir(d);
  await writeFile(path.join(dir, 'keep'), '');
  await removeStalePartials(dir);
  assert.equal(existsSync(dead), false);
  assert.equal(existsSync(live), true);
  assert.equal(readFileSync(path.join(dir, 'keep'), 'utf8'), '');
});

test('an image cannot set overlayfs\' own xattrs; its other xattrs are kept', async (t) => {
  const dir = await scratch(t);
  const file = path.join(dir, 'blob');
  // GNU tar does not archive trusted.* xattrs; Python's tarfile writes any pax header.
  const script = `import sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    d = tarfile.TarInfo('d'); d.type = tarfile.DIRTYPE; d.mode = 0o755
    d.pax_headers = {'SCHILY.xattr.trusted.overlay.opaque': 'y', 'SCHILY.xattr.user.kept': '1'}
    t.addfile(d)`;
  execFileSync('python3', ['-c', script, file]);
  const folder = await ensureLayer(path.join(dir, 'layers'), { digest, compression: 'none', file, size: 1 }, { log: () => undefined });
  const xattrs = execFileSync('getfattr', ['--absolute-names', '-d', '-m', '-', path.join(folder, 'd')], { encoding: 'utf8' });
  assert.match(xattrs, /user\.kept="1"/);
  assert.doesNotMatch(xattrs, /trusted\./);
});
