import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { imageWithHostname, utsnsImage } from './criu-image.js';

// A utsns image as CRIU 4.1.1 wrote it for a sandbox named ir0585x5zdby9i43deyu.
const written = Buffer.from(
  '194356540332475' + '41e0000000a146972303538357835' + '7a646279396934336465797512062' + '86e6f6e6529',
  'hex',
);

it('rewrites the UTS image to a new host name, keeping the header and the domain name', () => {
  const out = utsnsImage(written, 'newhostname000000000');
  assert.deepEqual(out.subarray(0, 8), written.subarray(0, 8));
  assert.equal(out.readUInt32LE(8), out.length - 12);
  assert.equal(out.subarray(12).toString('latin1'), '\n\x14newhostname000000000\x12\x06(none)');
  assert.deepEqual(utsnsImage(written, 'ir0585x5zdby9i43deyu'), written, 'same name gives the same bytes CRIU wrote');
});

it('links every image file and rewrites only the UTS one', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'criu-image-test-'));
  try {
    const shared = path.join(dir, 'shared');
    const own = path.join(dir, 'own');
    await mkdir(shared);
    await writeFile(path.join(shared, 'pages-1.img'), 'memory');
    await writeFile(path.join(shared, 'utsns-12.img'), written);
    await imageWithHostname(shared, own, 'clone000000000000000');
    assert.equal((await stat(path.join(own, 'pages-1.img'))).ino, (await stat(path.join(shared, 'pages-1.img'))).ino);
    assert.match((await readFile(path.join(own, 'utsns-12.img'))).toString('latin1'), /clone000000000000000/);
    assert.deepEqual(await readFile(path.join(shared, 'utsns-12.img')), written, 'the shared image is untouched');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
