import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import pino from 'pino';
import { dataFiles, loadConfig } from '../../config.js';
import { criuErrors, RuncRuntime } from './runc-runtime.js';

it('a discarded checkpoint that cannot be removed is logged with its cause', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-runtime-log-'));
  const lines: Array<{ level: number; msg: string; sandboxId?: string; err?: { message: string } }> = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const checkpoints = dataFiles(dataDir).checkpoints;
  const stuck = path.join(checkpoints, 'sbx1', 'pages-1.img');
  try {
    mkdirSync(path.dirname(stuck), { recursive: true });
    writeFileSync(stuck, 'pages');
    // Immutable: even root's rm fails (EPERM), as on a file system gone read-only.
    execFileSync('chattr', ['+i', stuck]);
    await new RuncRuntime(loadConfig({ dataDir, runcRoot: path.join(dataDir, 'runc') }), log).discardCheckpoint({ kind: 'pause', name: 'sbx1' });
    // The files go 2 s after the discard (discardDelayMs).
    for (let waited = 0; lines.length === 0 && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    assert.equal(lines[0]!.sandboxId, 'sbx1');
    assert.match(lines[0]!.msg, /removing the discarded checkpoint .*sbx1\.discarded-.* failed/);
    assert.match(lines[0]!.err!.message, /pages-1\.img/, 'the cause names the file that stayed');
  } finally {
    for (const aside of readdirSync(checkpoints)) execFileSync('chattr', ['-i', path.join(checkpoints, aside, 'pages-1.img')]);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

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
