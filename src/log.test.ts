import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { installDir } from './config.js';
import { createLogger } from './log.js';

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-log-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a log file gets JSON lines at and above the level, its folder made, also when stdout is a terminal', () => {
  withTempDir((dir) => {
    const file = path.join(dir, 'logs', 'server.log');
    const log = createLogger({ logLevel: 'warn', logFile: file }, true);
    log.info('not at the level');
    log.child({ sandboxId: 'sbx1' }).warn({ operation: 'pause' }, 'pause failed');
    log.error('second');
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 2);
    assert.equal(lines[0]!.msg, 'pause failed');
    assert.equal(lines[0]!.level, 40);
    assert.equal(lines[0]!.sandboxId, 'sbx1');
    assert.equal(lines[0]!.operation, 'pause');
    assert.ok(!Number.isNaN(Date.parse(lines[0]!.time as string)), 'time is an ISO date');
    assert.equal(lines[1]!.msg, 'second');
  });
});

test('a log file is appended to, not replaced', () => {
  withTempDir((dir) => {
    const file = path.join(dir, 'server.log');
    writeFileSync(file, '{"msg":"from before"}\n');
    createLogger({ logLevel: 'info', logFile: file }, false).info('after a restart');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    assert.equal((JSON.parse(lines[0]!) as { msg: string }).msg, 'from before');
    assert.equal((JSON.parse(lines[1]!) as { msg: string }).msg, 'after a restart');
  });
});

test('a log file that cannot be opened is refused with the setting named', () => {
  withTempDir((dir) => {
    const notAFolder = path.join(dir, 'file');
    writeFileSync(notAFolder, '');
    assert.throws(() => createLogger({ logLevel: 'info', logFile: path.join(notAFolder, 'server.log') }), /cannot open the log file .*SANDCASTLE_LOG_FILE/);
  });
});

/** What a logger writes to stdout, logged in a child process (whose stdout is a pipe). */
function stdoutOf(level: string, terminal: boolean): string {
  const script = `import { createLogger } from './src/log.ts';
const log = createLogger({ logLevel: ${JSON.stringify(level)} }, ${terminal});
log.debug('quiet');
log.info({ sandboxId: 'sbx2' }, 'sandbox started');`;
  return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: installDir, encoding: 'utf8' });
}

test('without a file, stdout gets JSON lines, or a readable line per entry for a terminal', () => {
  const json = stdoutOf('info', false).trim().split('\n');
  assert.equal(json.length, 1);
  const line = JSON.parse(json[0]!) as Record<string, unknown>;
  assert.equal(line.msg, 'sandbox started');
  assert.equal(line.sandboxId, 'sbx2');

  const readable = stdoutOf('debug', true).trim().split('\n');
  assert.equal(readable.length, 2);
  assert.match(readable[1]!, /^\[\d\d:\d\d:\d\d\.\d{3}\] .*INFO.*: .*sandbox started.* .*"sandboxId":"sbx2"/);
});
