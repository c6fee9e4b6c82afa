import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { freezeCgroup, thawCgroup, thawIfFrozen } from './cgroup-freezer.js';

async function withRoot(work: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'sc-freezer-'));
  try {
    await work(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

it('thaws a v1 sandbox through its freezer.state', () =>
  withRoot(async (root) => {
    const dir = path.join(root, 'freezer', 'sandcastle', 'abc');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'freezer.state'), 'FROZEN\n');
    await thawCgroup({ version: 'v1', root }, 'abc');
    assert.equal(await readFile(path.join(dir, 'freezer.state'), 'utf8'), 'THAWED');
  }));

it('thaws a v2 sandbox through cgroup.freeze and waits for cgroup.events to say so', () =>
  withRoot(async (root) => {
    const dir = path.join(root, 'sandcastle', 'abc');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'cgroup.freeze'), '1\n');
    await writeFile(path.join(dir, 'cgroup.events'), 'populated 1\nfrozen 1\n');
    // The kernel's answer comes a moment after the write.
    setTimeout(() => void writeFile(path.join(dir, 'cgroup.events'), 'populated 1\nfrozen 0\n'), 20);
    await thawCgroup({ version: 'v2', root }, 'abc');
    assert.equal(await readFile(path.join(dir, 'cgroup.freeze'), 'utf8'), '0');
    assert.match(await readFile(path.join(dir, 'cgroup.events'), 'utf8'), /^frozen 0$/m);
  }));

it('refuses a cgroup that is not frozen, and says which cgroup it could not thaw', () =>
  withRoot(async (root) => {
    const dir = path.join(root, 'freezer', 'sandcastle', 'running');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'freezer.state'), 'THAWED\n');
    await assert.rejects(thawCgroup({ version: 'v1', root }, 'running'), /sandbox running is not frozen/);
    await assert.rejects(thawCgroup({ version: 'v1', root }, 'gone'), /ENOENT/);
  }));

it('freezes a v1 sandbox through its freezer.state', () =>
  withRoot(async (root) => {
    const dir = path.join(root, 'freezer', 'sandcastle', 'abc');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'freezer.state'), 'THAWED\n');
    await freezeCgroup({ version: 'v1', root }, 'abc');
    assert.equal(await readFile(path.join(dir, 'freezer.state'), 'utf8'), 'FROZEN');
  }));

it('freezes a v2 sandbox through cgroup.freeze once cgroup.events says frozen 1', () =>
  withRoot(async (root) => {
    const dir = path.join(root, 'sandcastle', 'abc');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'cgroup.freeze'), '0\n');
    await writeFile(path.join(dir, 'cgroup.events'), 'populated 1\nfrozen 0\n');
    setTimeout(() => void writeFile(path.join(dir, 'cgroup.events'), 'populated 1\nfrozen 1\n'), 20);
    await freezeCgroup({ version: 'v2', root }, 'abc');
    assert.equal(await readFile(path.join(dir, 'cgroup.freeze'), 'utf8'), '1');
  }));

it('thaws again and says so when a freeze does not complete in time', () =>
  withRoot(async (root) => {
    const dir = path.join(root, 'sandcastle', 'stuck');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'cgroup.freeze'), '0\n');
    await writeFile(path.join(dir, 'cgroup.events'), 'populated 1\nfrozen 0\n');
    await assert.rejects(freezeCgroup({ version: 'v2', root }, 'stuck', 50), /sandbox stuck's cgroup \(.*\) did not freeze within 50 ms .*thawed again/);
    assert.equal(await readFile(path.join(dir, 'cgroup.freeze'), 'utf8'), '0');
  }));

it('thawIfFrozen thaws a frozen or half-frozen cgroup of either version and leaves others alone', () =>
  withRoot(async (root) => {
    const dirs = ['frozen', 'freezing', 'thawed', 'v2', 'none'].map((n) => path.join(root, n));
    await Promise.all(dirs.map((d) => mkdir(d)));
    await writeFile(path.join(dirs[0]!, 'freezer.state'), 'FROZEN');
    await writeFile(path.join(dirs[1]!, 'freezer.state'), 'FREEZING');
    await writeFile(path.join(dirs[2]!, 'freezer.state'), 'THAWED');
    await writeFile(path.join(dirs[3]!, 'cgroup.freeze'), '1');
    dirs.forEach(thawIfFrozen);
    const read = (d: string, f: string) => readFile(path.join(d, f), 'utf8');
    assert.deepEqual(await Promise.all(dirs.slice(0, 3).map((d) => read(d, 'freezer.state'))), ['THAWED', 'THAWED', 'THAWED']);
    assert.equal(await read(dirs[3]!, 'cgroup.freeze'), '0');
    assert.deepEqual(await readdir(dirs[4]!), []);
  }));
