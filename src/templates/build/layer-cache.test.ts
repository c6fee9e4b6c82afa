import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, rm, symlink, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { pruneLayers, touchLayers } from './layer-cache.js';

const day = 24 * 3600 * 1000;
let dir: string;
after(() => rm(dir, { recursive: true, force: true }));

it('removes only layers nothing uses that were not used within the period, and cache links to them', async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-layer-cache-'));
  const old = new Date(Date.now() - 10 * day);
  const make = async (name: string, when?: Date) => {
    const p = path.join(dir, name);
    await mkdir(p);
    if (when) await utimes(p, when, when);
    return p;
  };
  const used = await make('k1.aaa', old);
  const stale = await make('k2.bbb', old);
  const recent = await make('k3.ccc');
  const touched = await make('oci-sha256-ddd', old);
  await touchLayers([touched]);
  await mkdir(path.join(dir, '.partial-1-x'));
  await utimes(path.join(dir, '.partial-1-x'), old, old);
  await symlink('k2.bbb', path.join(dir, 'step-k2'));
  await symlink('k1.aaa', path.join(dir, 'step-k1'));

  const report = await pruneLayers(dir, new Set([used]), 7 * day);
  assert.deepEqual(report.removed, ['k2.bbb']);
  assert.equal(report.keptInUse, 1);
  assert.equal(report.keptRecent, 2);
  assert.ok(existsSync(used) && existsSync(recent) && existsSync(touched) && !existsSync(stale));
  assert.ok(existsSync(path.join(dir, 'step-k1')));
  assert.equal(await lstat(path.join(dir, 'step-k2')).then(() => true, () => false), false);
  assert.ok(existsSync(path.join(dir, '.partial-1-x')));
});
