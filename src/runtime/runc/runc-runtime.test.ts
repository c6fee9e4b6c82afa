import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import pino from 'pino';
import { dataFiles, loadConfig } from '../../config.js';
import { RuncRuntime } from './runc-runtime.js';

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
