import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { kernelLimitsFor, raiseKernelLimits } from './kernel-limits.js';

/** A /proc/sys of fixture files holding the kernel's defaults. */
async function procSys(values: Record<string, string>): Promise<{ root: string; read(sysctl: string): Promise<string> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'sc-sysctl-'));
  const file = (sysctl: string) => path.join(root, ...sysctl.split('.'));
  for (const [sysctl, value] of Object.entries(values)) {
    await mkdir(path.dirname(file(sysctl)), { recursive: true });
    await writeFile(file(sysctl), `${value}\n`);
  }
  return { root, read: async (sysctl) => (await readFile(file(sysctl), 'utf8')).trim() };
}

const defaults = {
  'kernel.keys.maxkeys': '200',
  'kernel.keys.maxbytes': '20000',
  'fs.pipe-user-pages-soft': '16384',
  'fs.pipe-user-pages-hard': '0',
  'fs.inotify.max_user_instances': '128',
  'fs.inotify.max_user_watches': '192543',
  'net.ipv4.neigh.default.gc_thresh2': '512',
  'net.ipv4.neigh.default.gc_thresh3': '1024',
  'kernel.pid_max': '32768',
};
const needs = (sandboxes: number) => ({ sandboxes, pidsLimit: 4096 });

it("raises the kernel limits namespaced sandboxes share for as many as the server may hold, and says what it set", async () => {
  const sys = await procSys(defaults);
  try {
    const said = await raiseKernelLimits(kernelLimitsFor(true), needs(1000), sys.root);
    assert.match(said!, /kernel\.keys\.maxkeys=2200, kernel\.keys\.maxbytes=220000, fs\.pipe-user-pages-soft=1040384, kernel\.pid_max=4128768, fs\.inotify\.max_user_instances=128128, fs\.inotify\.max_user_watches=65536000, net\.ipv4\.neigh\.default\.gc_thresh2=2512, net\.ipv4\.neigh\.default\.gc_thresh3=5024/);
    assert.equal(await sys.read('kernel.keys.maxkeys'), '2200');
    assert.equal(await sys.read('fs.pipe-user-pages-soft'), '1040384');
    // 0 is no limit: left so.
    assert.equal(await sys.read('fs.pipe-user-pages-hard'), '0');
    assert.equal(await sys.read('fs.inotify.max_user_instances'), '128128');
    assert.equal(await raiseKernelLimits(kernelLimitsFor(true), needs(1000), sys.root), undefined, 'a second start changed something');
  } finally {
    await rm(sys.root, { recursive: true, force: true });
  }
});

it('never lowers a limit, and without user namespaces raises only what every root shares (inotify, neighbours)', async () => {
  const sys = await procSys({ ...defaults, 'fs.inotify.max_user_instances': '1000000', 'fs.pipe-user-pages-hard': '100', 'net.ipv4.neigh.default.gc_thresh3': '8192' });
  try {
    assert.match((await raiseKernelLimits(kernelLimitsFor(false), needs(1000), sys.root))!, /^kernel limits the sandboxes share raised: kernel\.pid_max=4128768, fs\.inotify\.max_user_watches=65536000, net\.ipv4\.neigh\.default\.gc_thresh2=2512$/);
    assert.equal(await sys.read('fs.inotify.max_user_instances'), '1000000');
    assert.equal(await sys.read('kernel.keys.maxkeys'), '200');
    assert.equal(await sys.read('net.ipv4.neigh.default.gc_thresh3'), '8192');
    await raiseKernelLimits(kernelLimitsFor(true), needs(10), sys.root);
    assert.equal(await sys.read('fs.pipe-user-pages-hard'), '26624');
    assert.equal(await sys.read('kernel.keys.maxkeys'), '220');
  } finally {
    await rm(sys.root, { recursive: true, force: true });
  }
});
