import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import pino from 'pino';
import { dataFiles, loadConfig } from '../../config.js';
import { criuErrors, RuncRuntime } from './runc-runtime.js';

it('a discarded checkpoint that cannot be removed is logged with its cause, under its sandbox or its own name', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-runtime-log-'));
  const lines: Array<{ level: number; msg: string; sandboxId?: string; checkpoint?: string; err?: { message: string } }> = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const { checkpoints, snapshots } = dataFiles(dataDir);
  const stuck = [path.join(checkpoints, 'sbx1', 'pages-1.img'), path.join(snapshots, 'snap1', 'pages-1.img')];
  try {
    for (const file of stuck) {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, 'pages');
      // Immutable: even root's rm fails (EPERM), as on a file system gone read-only.
      execFileSync('chattr', ['+i', file]);
    }
    const runtime = new RuncRuntime(loadConfig({ dataDir, runcRoot: path.join(dataDir, 'runc') }), log);
    await runtime.discardCheckpoint({ kind: 'pause', name: 'sbx1' });
    await runtime.discardCheckpoint({ kind: 'snapshot', name: 'snap1' });
    // The files go 2 s after the discard (discardDelayMs).
    for (let waited = 0; lines.length < 2 && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    const pause = lines.find((l) => l.sandboxId === 'sbx1');
    assert.ok(pause, 'a pause checkpoint is logged under its sandbox');
    assert.match(pause.msg, /removing the discarded checkpoint .*sbx1\.discarded-.* failed/);
    assert.match(pause.err!.message, /pages-1\.img/, 'the cause names the file that stayed');
    const snapshot = lines.find((l) => l.checkpoint === 'snapshot snap1');
    assert.ok(snapshot, 'another checkpoint is logged under its kind and name, not as a sandbox');
    assert.equal(snapshot.sandboxId, undefined);
  } finally {
    for (const folder of [checkpoints, snapshots]) {
      for (const aside of readdirSync(folder)) execFileSync('chattr', ['-i', path.join(folder, aside, 'pages-1.img')]);
    }
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
