import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { DiskUsage } from './disk-usage.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-disk-usage-'));
after(() => rmSync(root, { recursive: true, force: true }));

function du(dir: string): number {
  return Number(execFileSync('du', ['-s', '--block-size=1', dir], { encoding: 'utf8' }).split('\t')[0]);
}

it('measures a folder as du does, counting hard links once', () => {
  const dir = path.join(root, 'a');
  mkdirSync(path.join(dir, 'x/y/z'), { recursive: true });
  writeFileSync(path.join(dir, 'x/one'), Buffer.alloc(100_000, 1));
  writeFileSync(path.join(dir, 'x/y/z/two'), Buffer.alloc(3_000_000, 2));
  linkSync(path.join(dir, 'x/y/z/two'), path.join(dir, 'x/two-again'));
  const usage = new DiskUsage(1000);
  usage.track(new Map([['a', dir]]));
  assert.equal(usage.bytes('a'), undefined);
  usage.advance(1000);
  assert.equal(usage.bytes('a'), du(dir));
});

it('a walk cut by its budget resumes where it stopped and keeps the last figure meanwhile', () => {
  const dir = path.join(root, 'b');
  for (let d = 0; d < 40; d++) {
    mkdirSync(path.join(dir, `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(path.join(dir, `d${d}`, `f${f}`), 'x');
  }
  const usage = new DiskUsage(0);
  usage.track(new Map([['b', dir]]));
  let calls = 0;
  while (usage.bytes('b') === undefined) {
    usage.advance(0.05);
    calls++;
    assert.ok(calls < 100_000);
  }
  assert.ok(calls > 1, 'a zero budget cannot measure 4000 files in one call');
  const first = usage.bytes('b')!;
  assert.equal(first, du(dir));
  writeFileSync(path.join(dir, 'big'), Buffer.alloc(1_000_000, 3));
  usage.advance(0.05);
  assert.ok(usage.bytes('b') === first || usage.bytes('b') === du(dir));
  while (usage.bytes('b') === first) usage.advance(0.05);
  assert.equal(usage.bytes('b'), du(dir));
});

it('forgets what is no longer tracked, and a folder removed under a walk reads as empty', () => {
  const usage = new DiskUsage(0);
  usage.track(new Map([['gone', path.join(root, 'never-made')]]));
  usage.advance(10);
  assert.equal(usage.bytes('gone'), 0);
  usage.track(new Map());
  assert.equal(usage.bytes('gone'), undefined);
});
