import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import pino from 'pino';
import { dataFiles, loadConfig } from '../../config.js';
import { RuncRuntime } from './runc-runtime.js';

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
