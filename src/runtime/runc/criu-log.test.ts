import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { criuErrors } from './criu-log.js';

it("CRIU's errors come with what to do when a watch or a FUSE mount stopped the dump", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-criu-log-'));
  try {
    const log = path.join(dir, 'dump.log');
    writeFileSync(log, ['(00.01) Error (criu/fsnotify.c:284): fsnotify: \tCan\'t dump that handle', '(00.02) Error (criu/cr-dump.c:2152): Dumping FAILED.'].join('\n'));
    const watch = await criuErrors(log);
    assert.match(watch, /^; criu: Error \(criu\/fsnotify\.c:284\)/);
    assert.match(watch, /a process watches a file \(inotify\) outside the folders .*\/home.*stop that watch before pausing\)$/);
    writeFileSync(log, '(00.01) Error (criu/files-ext.c:96): Can\'t dump file 5 of that type [20000] (chr 10:229)\n');
    assert.match(await criuErrors(log), /\(a process holds \/dev\/fuse: unmount/);
    assert.doesNotMatch(await criuErrors(log), /inotify/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
