import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readSandboxFile } from './sandbox-file.js';

test('a file the sandbox can write is read without following a symlink or blocking on a FIFO, its tail only', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-logread-'));
  try {
    writeFileSync(path.join(dir, 'secret'), 'host file');
    symlinkSync(path.join(dir, 'secret'), path.join(dir, 'link'));
    assert.equal(await readSandboxFile(path.join(dir, 'link'), 1024), '');
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    assert.equal(await readSandboxFile(path.join(dir, 'fifo'), 1024), '');
    assert.equal(await readSandboxFile(path.join(dir, 'missing'), 1024), '');
    writeFileSync(path.join(dir, 'log'), 'abcdefghij');
    assert.equal(await readSandboxFile(path.join(dir, 'log'), 4), 'ghij');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
