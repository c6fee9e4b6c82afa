// The usage readers on the fixture trees of both layouts (fixtures/cgroup, see
// cgroup-layout.test.ts) and on small trees built per test.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { detectCgroupLayout } from './cgroup-layout.js';
import { readCgroupStats } from './cgroup-stats.js';

const fixtures = fileURLToPath(new URL('./fixtures/cgroup/', import.meta.url));
const v1Root = path.join(fixtures, 'v1');
const v2Root = path.join(fixtures, 'v2');

const scratch = mkdtempSync(path.join(tmpdir(), 'cgroup-stats-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A fresh folder under the scratch dir holding `files` (relative path → content). */
function tree(name: string, files: Record<string, string>): string {
  const root = path.join(scratch, name);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
  return root;
}

describe('readCgroupStats', () => {
  const MiB = 1024 * 1024;

  it('reads v1: cpuacct.usage, usage less total_inactive_file, the limit, total_cache, pids', () => {
    // The fixture's own (non-total_) inactive_file and cache differ, so reading them would fail.
    assert.deepEqual(readCgroupStats('k3v1sandbox000000001', detectCgroupLayout(v1Root)), {
      cpuUsageNs: 5_230_000_000,
      memoryUsedBytes: 80 * MiB,
      memoryLimitBytes: 512 * MiB,
      memoryCacheBytes: 40 * MiB,
      pids: 7,
    });
  });

  it('reads v2: cpu.stat usage_usec in ns, memory.current less inactive_file, memory.max, file, pids', () => {
    assert.deepEqual(readCgroupStats('k3v2limited000000001', detectCgroupLayout(v2Root)), {
      cpuUsageNs: 5_230_000_000,
      memoryUsedBytes: 80 * MiB,
      memoryLimitBytes: 512 * MiB,
      memoryCacheBytes: 40 * MiB,
      pids: 7,
    });
  });

  it('takes a v2 memory.max of "max" as the host memory', () => {
    const stats = readCgroupStats('k3v2unlimited0000001', detectCgroupLayout(v2Root));
    assert.equal(stats?.memoryLimitBytes, totalmem());
  });

  it('finds keys on the first line of a stat file', () => {
    const root = tree('v2-first-key', {
      'cgroup.controllers': 'cpu memory pids\n',
      'sandcastle/a/cpu.stat': 'usage_usec 42\nuser_usec 40\n',
      'sandcastle/a/memory.current': '1000\n',
      'sandcastle/a/memory.max': '4096\n',
      'sandcastle/a/memory.stat': 'inactive_file 100\nfile 300',
    });
    const stats = readCgroupStats('a', detectCgroupLayout(root));
    assert.equal(stats?.cpuUsageNs, 42_000);
    assert.equal(stats?.memoryUsedBytes, 900);
    // The last line has no newline after it.
    assert.equal(stats?.memoryCacheBytes, 300);
    // No pids.current (the pids controller not enabled for it): zero, not a failure.
    assert.equal(stats?.pids, 0);
  });

  it('gives undefined for a sandbox without a cgroup on either layout', () => {
    assert.equal(readCgroupStats('gone', detectCgroupLayout(v1Root)), undefined);
    assert.equal(readCgroupStats('gone', detectCgroupLayout(v2Root)), undefined);
  });
});
