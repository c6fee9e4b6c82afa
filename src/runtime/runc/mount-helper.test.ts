import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { mountOverlay } from './mount-helper.js';
import { unmount } from './mounts.js';

// The disk side is tested with the disks (sandbox-disk.test.ts).
const root = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-mount-helper-'));
after(() => rmSync(root, { recursive: true, force: true }));

it('an overlay mounts its layers, and a bad one is refused naming its target', async () => {
  const [lower, upper, work, target] = ['lower', 'upper', 'work', 'merged'].map((d) => path.join(root, d)) as [string, string, string, string];
  for (const d of [lower, upper, work, target]) mkdirSync(d);
  writeFileSync(path.join(lower, 'marker'), 'from below');
  await mountOverlay(target, `lowerdir=${lower},upperdir=${upper},workdir=${work}`);
  try {
    assert.equal(readFileSync(path.join(target, 'marker'), 'utf8'), 'from below');
  } finally {
    await unmount(target);
  }
  await assert.rejects(mountOverlay(target, `lowerdir=${path.join(root, 'absent')},upperdir=${upper},workdir=${work}`), /mounting an overlay on .*merged: No such file/);
});
