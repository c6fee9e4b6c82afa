// Image layers for sandboxes in a user namespace (layer-store.ts, `userns`): unpacked once with
// their owners shifted into the mapping, in a folder of their own.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ensureLayer, layerFolderName } from './layer-store.js';

test('with a mapping, a layer is unpacked into a folder of the mapping with shifted owners, set-id bits and whiteouts kept', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-layer-userns-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const src = path.join(dir, 'src');
  await mkdir(path.join(src, 'home/user'), { recursive: true });
  await chown(path.join(src, 'home/user'), 1000, 1000);
  await writeFile(path.join(src, 'sudo'), 'x');
  await chmod(path.join(src, 'sudo'), 0o4755);
  await writeFile(path.join(src, '.wh.gone'), '');
  const file = path.join(dir, 'blob');
  execFileSync('tar', ['-cf', file, '--numeric-owner', '-C', src, '.']);
  const digest = `sha256:${'2e'.repeat(32)}`;
  const userns = { base: 100_000, size: 65_536 };
  const layersDir = path.join(dir, 'layers');
  const folder = await ensureLayer(layersDir, { digest, compression: 'none', file, size: 1 }, { log: () => undefined, userns });
  assert.equal(folder, path.join(layersDir, layerFolderName(digest, userns)));
  assert.match(path.basename(folder), /^oci-sha256-(2e){32}-userns-100000-65536$/);
  const info = async (rel: string) => lstat(path.join(folder, rel));
  assert.deepEqual([(await info('home/user')).uid, (await info('home/user')).gid], [101_000, 101_000]);
  assert.equal((await info('sudo')).uid, 100_000);
  assert.equal((await info('sudo')).mode & 0o7777, 0o4755);
  assert.ok((await info('gone')).isCharacterDevice());
  // The same image without a mapping is another folder, unshifted.
  const plain = await ensureLayer(layersDir, { digest, compression: 'none', file, size: 1 }, { log: () => undefined });
  assert.notEqual(plain, folder);
  assert.equal((await lstat(path.join(plain, 'sudo'))).uid, 0);
});
