// Layout detection on fixture trees (fixtures/cgroup): `v1` is a hybrid host
// like the one Sandcastle is developed on (v1 controller folders plus an empty cgroup2 at
// unified/), `v2` is Debian 12's unified hierarchy. Unsupported trees are built per test.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { detectCgroupLayout, requiredV1Controllers, sandboxCgroupDir, sandboxCgroupDirsEverywhere, sandboxCgroupParents } from './cgroup-layout.js';

const fixtures = fileURLToPath(new URL('./fixtures/cgroup/', import.meta.url));
const v1Root = path.join(fixtures, 'v1');
const v2Root = path.join(fixtures, 'v2');

const scratch = mkdtempSync(path.join(tmpdir(), 'cgroup-layout-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A fresh folder under the scratch dir holding `files` (relative path → content). */
function tree(name: string, files: Record<string, string>): string {
  const root = path.join(scratch, name);
  mkdirSync(root, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
  return root;
}

describe('detectCgroupLayout', () => {
  it('finds v2 where the root lists cpu, memory and pids in cgroup.controllers', () => {
    assert.deepEqual(detectCgroupLayout(v2Root), { version: 'v2', root: v2Root });
  });

  it('finds v1 on a hybrid host and leaves its cgroup2 mount at unified/ aside', () => {
    assert.deepEqual(detectCgroupLayout(v1Root), { version: 'v1', root: v1Root });
  });

  it('refuses v2 without the memory controller, naming it, what was listed and what to do', () => {
    const root = tree('v2-no-memory', { 'cgroup.controllers': 'cpuset cpu io pids\n' });
    assert.throws(() => detectCgroupLayout(root), (err: Error) => {
      assert.match(err.message, new RegExp(`^cgroup v2 at ${root} lacks the memory controller in cgroup.controllers`));
      assert.match(err.message, /it lists: cpuset cpu io pids/);
      assert.match(err.message, /enable them/);
      return true;
    });
  });

  it('refuses v2 with no controllers delegated, naming each one missing', () => {
    const root = tree('v2-empty', { 'cgroup.controllers': '\n' });
    assert.throws(() => detectCgroupLayout(root), /lacks the cpu, memory and pids controllers in cgroup.controllers \(it lists: nothing\)/);
  });

  it('refuses v1 without the pids and freezer controllers, naming what it found', () => {
    const present = requiredV1Controllers.filter((c) => c !== 'pids' && c !== 'freezer');
    const root = tree('v1-partial', Object.fromEntries(present.map((c) => [`${c}/cgroup.procs`, ''])));
    assert.throws(() => detectCgroupLayout(root), (err: Error) => {
      assert.match(err.message, new RegExp(`^cgroup v1 at ${root} lacks the pids and freezer controllers`));
      assert.match(err.message, /found: memory, cpu, cpuacct and devices/);
      assert.match(err.message, /Sandcastle needs cgroup v2 mounted at/);
      return true;
    });
  });

  it('refuses a folder with no cgroup hierarchy at all', () => {
    // An empty controller-named folder is not a mounted controller.
    const root = tree('none', {});
    mkdirSync(path.join(root, 'memory'));
    assert.throws(() => detectCgroupLayout(root), new RegExp(`^Error: no cgroup hierarchy at ${root}: neither cgroup v2`));
  });

  it('refuses a folder that does not exist', () => {
    assert.throws(() => detectCgroupLayout(path.join(scratch, 'missing')), /no cgroup hierarchy at/);
  });
});

describe('sandbox cgroup folders', () => {
  it('are <root>/sandcastle/<id> on v2', () => {
    const layout = detectCgroupLayout(v2Root);
    assert.equal(sandboxCgroupDir(layout, 'abc', 'pids'), path.join(v2Root, 'sandcastle', 'abc'));
    assert.deepEqual(sandboxCgroupParents(layout), [path.join(v2Root, 'sandcastle')]);
  });

  it('are <root>/<controller>/sandcastle/<id> on v1', () => {
    const layout = detectCgroupLayout(v1Root);
    assert.equal(sandboxCgroupDir(layout, 'abc', 'pids'), path.join(v1Root, 'pids', 'sandcastle', 'abc'));
    assert.equal(sandboxCgroupDir(layout, 'abc'), path.join(v1Root, 'memory', 'sandcastle', 'abc'));
    for (const c of requiredV1Controllers) assert.ok(sandboxCgroupParents(layout).includes(path.join(v1Root, c, 'sandcastle')), c);
  });

  it('where runc may have made them: every v1 hierarchy once (not its symlinked names), the one on v2', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'cgroup-hierarchies-'));
    after(() => rmSync(root, { recursive: true, force: true }));
    for (const h of ['cpu', 'cpuacct', 'memory', 'systemd']) mkdirSync(path.join(root, h));
    symlinkSync('cpu', path.join(root, 'cpu,cpuacct'));
    writeFileSync(path.join(root, 'stray-file'), '');
    const found = sandboxCgroupDirsEverywhere({ version: 'v1', root }, 'abc').sort();
    assert.deepEqual(found, ['cpu', 'cpuacct', 'memory', 'systemd'].map((h) => path.join(root, h, 'sandcastle', 'abc')));
    assert.deepEqual(sandboxCgroupParents({ version: 'v1', root }).sort(), ['cpu', 'cpuacct', 'memory', 'systemd'].map((h) => path.join(root, h, 'sandcastle')));
    assert.deepEqual(sandboxCgroupDirsEverywhere(detectCgroupLayout(v2Root), 'abc'), [path.join(v2Root, 'sandcastle', 'abc')]);
  });
});
