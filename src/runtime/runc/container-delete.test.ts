import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { deleteContainer, processStart, removeCgroups } from './container-delete.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A runc state folder whose "cgroups" are plain folders (cgroupfs lets rmdir remove its files). */
function fakeContainer(initPid: number, initStart: number): { stateDir: string; cgroups: string[] } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'container-delete-'));
  dirs.push(root);
  const cgroups = ['freezer', 'memory'].map((c) => path.join(root, c, 'sandcastle', 'sbx'));
  cgroups.forEach((d) => mkdirSync(d, { recursive: true }));
  const stateDir = path.join(root, 'runc', 'sbx');
  mkdirSync(stateDir, { recursive: true });
  const cgroupPaths = { freezer: cgroups[0], memory: cgroups[1], cpuacct: cgroups[1] };
  writeFileSync(path.join(stateDir, 'state.json'), JSON.stringify({ init_process_pid: initPid, init_process_start: initStart, cgroup_paths: cgroupPaths }));
  return { stateDir, cgroups };
}

function sleeper(): Promise<{ pid: number; exited: Promise<NodeJS.Signals | null> }> {
  const child = spawn('sleep', ['100'], { stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  return new Promise((resolve) => child.once('spawn', () => resolve({ pid: child.pid!, exited })));
}

describe('deleteContainer', () => {
  it('reads a start time after a command name with spaces and parentheses', () => {
    const proc = mkdtempSync(path.join(os.tmpdir(), 'proc-'));
    dirs.push(proc);
    mkdirSync(path.join(proc, '42'));
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    writeFileSync(path.join(proc, '42', 'stat'), `42 (a) b (c) ${fields.join(' ')}\n`);
    assert.equal(processStart(42, proc), 22);
    assert.equal(processStart(43, proc), undefined);
  });

  it('kills the init process runc started, removes its cgroups, sub-cgroups included, and its state', async () => {
    const init = await sleeper();
    const { stateDir, cgroups } = fakeContainer(init.pid, processStart(init.pid)!);
    mkdirSync(path.join(cgroups[1]!, 'nested'));
    await deleteContainer(stateDir);
    assert.equal(await init.exited, 'SIGKILL');
    assert.deepEqual(cgroups.filter(existsSync), []);
    assert.equal(existsSync(stateDir), false);
  });

  it('leaves alone a process that reuses the init pid (its start time differs)', async () => {
    const other = await sleeper();
    const { stateDir } = fakeContainer(other.pid, processStart(other.pid)! - 1);
    await deleteContainer(stateDir);
    assert.equal(processStart(other.pid) !== undefined, true);
    process.kill(other.pid, 'SIGTERM');
    assert.equal(await other.exited, 'SIGTERM');
  });

  it('gives up, naming the cgroups, when they do not empty in time', async () => {
    const { stateDir, cgroups } = fakeContainer(1 << 30, 0);
    writeFileSync(path.join(cgroups[0]!, 'stuck'), '');
    await assert.rejects(deleteContainer(stateDir, 50), new RegExp(`cgroups still had tasks 50 ms after they were killed \\(${cgroups[0]}\\)`));
    assert.equal(existsSync(stateDir), true);
  });
});

describe('removeCgroups', () => {
  it('removes the folders that exist, with what they hold, and passes over the missing ones', async () => {
    const { stateDir, cgroups } = fakeContainer(1 << 30, 0);
    mkdirSync(path.join(cgroups[0]!, 'nested'));
    await removeCgroups([...cgroups, path.join(path.dirname(stateDir), 'never-made')], 'sandbox sbx');
    assert.deepEqual(cgroups.filter(existsSync), []);
  });
});
