import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkpointImage, checkpointUpper, durabilityOf, durableCheckpoint, flushingImage, isCheckpointWhole, markCheckpointWhole, transientCheckpoint } from './checkpoint-layout.js';

function checkpointFolder(): string {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'checkpoint-layout-')), 'cp');
  mkdirSync(path.join(checkpointImage(dir), 'nested'), { recursive: true });
  mkdirSync(checkpointUpper(dir), { recursive: true });
  writeFileSync(path.join(checkpointImage(dir), 'pages-1.img'), Buffer.alloc(1 << 20, 7));
  writeFileSync(path.join(checkpointImage(dir), 'nested', 'tmpfs-dev-1.tar.gz.img'), 'x');
  writeFileSync(path.join(checkpointUpper(dir), 'file'), 'y');
  return dir;
}

it('marks a checkpoint whole once its image, its layer and the sandbox disk named are synced', async () => {
  const dir = checkpointFolder();
  try {
    assert.equal(isCheckpointWhole(dir), false);
    await markCheckpointWhole(dir, path.dirname(dir));
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

it('marks a transient checkpoint whole without reading, let alone syncing, what it holds', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-checkpoint-'));
  try {
    await transientCheckpoint.markWhole(dir);
    assert.ok(isCheckpointWhole(dir));
    await assert.rejects(markCheckpointWhole(dir), /ENOENT.*image/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('writes a clone\'s checkpoint transient and every other kind durable', () => {
  assert.equal(durabilityOf({ kind: 'clone', name: 'c' }), transientCheckpoint);
  for (const kind of ['pause', 'snapshot', 'boot'] as const) assert.equal(durabilityOf({ kind, name: 'c' }), durableCheckpoint, kind);
});

it('runs a transient checkpoint\'s dump without opening the pages it writes', async () => {
  const dir = checkpointFolder();
  const pages = path.join(checkpointImage(dir), 'pages-1.img');
  const pagesOpen = () => readdirSync('/proc/self/fd').some((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === pages;
    } catch {
      return false;
    }
  });
  // Whether the pages file is open at any moment of a dump that lasts 300 ms.
  const opened = (durability: typeof durableCheckpoint) =>
    durability.writing(dir, async () => {
      for (let i = 0; i < 30; i++) {
        if (pagesOpen()) return true;
        await sleep(10);
      }
      return false;
    });
  try {
    assert.equal(await opened(durableCheckpoint), true);
    assert.equal(await opened(transientCheckpoint), false);
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});

it('flushes the pages files a dump writes while it runs, and stops when it ends', async () => {
  const dir = checkpointFolder();
  const flushed = new Set<number>();
  let flushes = 0;
  try {
    const result = await flushingImage(
      dir,
      async () => {
        writeFileSync(path.join(checkpointImage(dir), 'pages-2.img'), 'z');
        await sleep(50);
        return 'dumped';
      },
      async (file) => {
        flushed.add((await file.stat()).size);
        flushes++;
      },
    );
    assert.equal(result, 'dumped');
    // pages-1.img (1 MiB) and pages-2.img (1 byte); never the tmpfs image in `nested/`.
    assert.deepEqual([...flushed].sort((a, b) => a - b), [1, 1 << 20]);
    const after = flushes;
    await sleep(50);
    assert.equal(flushes, after);
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});

it('passes on the failure of the dump it flushed for', async () => {
  const dir = checkpointFolder();
  try {
    await assert.rejects(
      flushingImage(dir, () => Promise.reject(new Error('criu failed'))),
      /criu failed/,
    );
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});

it('syncs a layer of many files, passing over fifos and links it cannot open', async () => {
  const dir = checkpointFolder();
  try {
    for (let i = 0; i < 100; i++) writeFileSync(path.join(checkpointUpper(dir), `f${i}`), String(i));
    execFileSync('mkfifo', [path.join(checkpointUpper(dir), 'fifo')]);
    symlinkSync('/nowhere', path.join(checkpointUpper(dir), 'link'));
    await markCheckpointWhole(dir);
    assert.equal(isCheckpointWhole(dir), true);
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});
