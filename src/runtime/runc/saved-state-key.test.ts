import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { savedStateKey } from './saved-state-key.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-state-key-'));
  await mkdir(path.join(dir, 'layer'));
  await mkdir(path.join(dir, 'bundle'));
  await writeFile(path.join(dir, 'bundle', 'envd.mjs'), '');
  await writeFile(path.join(dir, 'criu'), '');
});
after(() => rm(dir, { recursive: true, force: true }));

it('changes with the programs mounted into the sandbox', async () => {
  const inputs = {
    layers: [path.join(dir, 'layer')],
    initArgs: ['/opt/sandcastle/tini', '--', 'envd'],
    toolsKey: 'aaa',
    bundleDir: path.join(dir, 'bundle'),
    criuPath: path.join(dir, 'criu'),
    processSecurity: '{}',
    rootMount: 'xino=on',
  };
  const key = await savedStateKey(inputs);
  assert.equal(await savedStateKey(inputs), key);
  assert.notEqual(await savedStateKey({ ...inputs, toolsKey: 'bbb' }), key);
  assert.notEqual(await savedStateKey({ ...inputs, rootMount: '' }), key);
  assert.notEqual(await savedStateKey({ ...inputs, initArgs: ['/opt/sandcastle/tini', '--', 'envd', '--flag'] }), key, 'a flag of envd changes it');
  await writeFile(path.join(dir, 'bundle', 'envd.mjs'), 'changed');
  assert.notEqual(await savedStateKey(inputs), key);
});

it('stays while a layer is only marked used, and changes when the layer is made anew', async () => {
  const layer = path.join(dir, 'cached-layer');
  await mkdir(layer);
  const inputs = { layers: [layer], initArgs: ['/opt/sandcastle/tini', '--', 'envd'], toolsKey: 'aaa', bundleDir: path.join(dir, 'bundle'), criuPath: path.join(dir, 'criu'), processSecurity: '{}', rootMount: '' };
  const key = await savedStateKey(inputs);
  await utimes(layer, new Date(), new Date(Date.now() + 60_000));
  assert.equal(await savedStateKey(inputs), key, 'the layer cache marking a layer used keeps the key');
  const next = path.join(dir, 'next-layer');
  await mkdir(next);
  await rm(layer, { recursive: true });
  await rename(next, layer);
  assert.notEqual(await savedStateKey(inputs), key);
});
