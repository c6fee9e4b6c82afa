import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { keyQuotaFor, raiseKeyQuota } from './userns.js';

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
