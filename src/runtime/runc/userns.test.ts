import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { keyQuotaFor, pipeQuotaFor, raiseKeyQuota, raisePipeQuota } from './userns.js';

it('sizes the per-user key quota for every sandbox a server may hold, never lowering it', () => {
  assert.deepEqual(keyQuotaFor(1000, { maxkeys: 200, maxbytes: 20_000 }), { maxkeys: 2200, maxbytes: 220_000 });
  assert.deepEqual(keyQuotaFor(1000, { maxkeys: 1_000_000, maxbytes: 25_000_000 }), { maxkeys: 1_000_000, maxbytes: 100_000_000 });
  assert.deepEqual(keyQuotaFor(10, { maxkeys: 5000, maxbytes: 1_000_000 }), { maxkeys: 5000, maxbytes: 1_000_000 });
});

it('raises kernel.keys.maxkeys and maxbytes where they are too low, and leaves them where they are not', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sc-keys-'));
  try {
    await writeFile(path.join(dir, 'maxkeys'), '200\n');
    await writeFile(path.join(dir, 'maxbytes'), '20000\n');
    assert.match((await raiseKeyQuota(1000, dir))!, /raised to 2200 keys, 220000 bytes/);
    assert.equal(await readFile(path.join(dir, 'maxkeys'), 'utf8'), '2200');
    assert.equal(await readFile(path.join(dir, 'maxbytes'), 'utf8'), '220000');
    assert.equal(await raiseKeyQuota(1000, dir), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('sizes the per-user pipe limits for every sandbox a server may hold, never lowering them or setting "none"', () => {
  assert.deepEqual(pipeQuotaFor(1000, { soft: 16384, hard: 0 }), { soft: 1_040_384, hard: 0 });
  assert.deepEqual(pipeQuotaFor(1000, { soft: 5_000_000, hard: 100 }), { soft: 5_000_000, hard: 1_040_384 });
  assert.deepEqual(pipeQuotaFor(10, { soft: 0, hard: 0 }), { soft: 0, hard: 0 });
});

it('raises fs.pipe-user-pages-soft where it is too low, and leaves it where it is not', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sc-pipes-'));
  try {
    await writeFile(path.join(dir, 'pipe-user-pages-soft'), '16384\n');
    await writeFile(path.join(dir, 'pipe-user-pages-hard'), '0\n');
    assert.match((await raisePipeQuota(1000, dir))!, /raised to 1040384 pages/);
    assert.equal(await readFile(path.join(dir, 'pipe-user-pages-soft'), 'utf8'), '1040384');
    assert.equal(await readFile(path.join(dir, 'pipe-user-pages-hard'), 'utf8'), '0');
    assert.equal(await raisePipeQuota(1000, dir), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
