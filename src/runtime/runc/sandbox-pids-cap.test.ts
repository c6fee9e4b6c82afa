import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, it } from 'node:test';
import { capSandboxPids, sandboxPidsCap } from './sandbox-pids-cap.js';

let dir: string;
let procSys: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sc-pids-cap-'));
  procSys = path.join(dir, 'proc-sys');
  mkdirSync(path.join(procSys, 'kernel'), { recursive: true });
  writeFileSync(path.join(procSys, 'kernel', 'pid_max'), '4128768\n');
  writeFileSync(path.join(procSys, 'kernel', 'threads-max'), '192735\n');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('leaves the host a share of the smaller of its id and task limits, and the sandboxes at least some', () => {
  assert.equal(sandboxPidsCap(4_194_304, 192_735), 184_543);
  assert.equal(sandboxPidsCap(32_768, 192_735), 24_576);
  assert.equal(sandboxPidsCap(4_000, 100_000), 1024);
});

it('on cgroup v1 sets pids.max of the sandboxes\' folder in the pids hierarchy', () => {
  const root = path.join(dir, 'cgroup');
  mkdirSync(path.join(root, 'pids'), { recursive: true });
  assert.match(capSandboxPids({ version: 'v1', root }, procSys), /limited to 184543 processes and threads/);
  assert.equal(readFileSync(path.join(root, 'pids', 'sandcastle', 'pids.max'), 'utf8'), '184543');
});

it('on cgroup v2 hands the pids controller down from the root where it is not, and sets pids.max', () => {
  const root = path.join(dir, 'cgroup');
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'cgroup.subtree_control'), 'cpu memory\n');
  capSandboxPids({ version: 'v2', root }, procSys);
  assert.equal(readFileSync(path.join(root, 'cgroup.subtree_control'), 'utf8'), '+pids');
  assert.equal(readFileSync(path.join(root, 'sandcastle', 'pids.max'), 'utf8'), '184543');
  // Where the root hands it down already, its control file is left alone.
  writeFileSync(path.join(root, 'cgroup.subtree_control'), 'cpu memory pids\n');
  capSandboxPids({ version: 'v2', root }, procSys);
  assert.equal(readFileSync(path.join(root, 'cgroup.subtree_control'), 'utf8'), 'cpu memory pids\n');
});
