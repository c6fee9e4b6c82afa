import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { checkpointImage, checkpointUpper, isCheckpointWhole, markCheckpointWhole } from './checkpoint-layout.js';

function checkpointFolder(): string {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'checkpoint-layout-')), 'cp');
  mkdirSync(path.join(checkpointImage(dir), 'nested'), { recursive: true });
  mkdirSync(checkpointUpper(dir), { recursive: true });
  writeFileSync(path.join(checkpointImage(dir), 'pages-1.img'), Buffer.alloc(1 << 20, 7));
  writeFileSync(path.join(checkpointImage(dir), 'nested', 'tmpfs-dev-1.tar.gz.img'), 'x');
  writeFileSync(path.join(checkpointUpper(dir), 'file'), 'y');
  return dir;
}

it('marks a checkpoint whole once its image and the named layer are synced', async () => {
  const dir = checkpointFolder();
  try {
    assert.equal(isCheckpointWhole(dir), false);
    await markCheckpointWhole(dir, [checkpointUpper(dir)]);
    assert.equal(isCheckpointWhole(dir), true);
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});

it('leaves a checkpoint without its image unmarked, saying what is missing', async () => {
  const dir = checkpointFolder();
  try {
    rmSync(checkpointImage(dir), { recursive: true });
    await assert.rejects(markCheckpointWhole(dir), /ENOENT.*image/);
    assert.equal(isCheckpointWhole(dir), false);
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});
