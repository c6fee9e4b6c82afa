// Runs after every other test file: a full run must leave no container, mount, veth or namespace.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { it } from 'node:test';
import { detectCgroupLayout, sandboxCgroupParents } from '../../src/runtime/runc/cgroup-layout.js';
import { nftRuleset, sandboxesWithRules, sandcastleTables } from '../support/sandbox-rules.js';
import { processesWith } from '../support/processes.js';
import { loopDevicesOf } from '../support/server-process.js';

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}


it('leaves no HAProxy of a test server running (the public URLs\' data plane)', () => {
  const haproxies = processesWith('/data-plane/haproxy.cfg').map((p) => `${p.pid}: ${p.args.join(' ')}`);
  assert.deepEqual(haproxies.filter((p) => p.includes('sandcastle-test-')), []);
});

it('leaves no sandbox container, overlay mount, loop device, veth, network namespace, nftables rule or cgroup behind', () => {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.includes('sandcastle-test-'));
  assert.deepEqual(mounts, [], 'overlay and sandbox disk mounts of test servers');
  // Sandbox disks (src/runtime/runc/sandbox-disk.ts) are files of test folders on loop devices.
  assert.deepEqual(loopDevicesOf('/sandcastle-'), [], 'loop devices of sandbox disks');
  const links = execFileSync('ip', ['-o', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' }).trim();
  assert.equal(links, '', 'veth interfaces');
  let namespaces: string[] = [];
  try {
    namespaces = readdirSync('/var/run/netns').filter((n) => n.startsWith('sc-'));
  } catch {
    // no namespace folder: nothing was ever made
  }
  assert.deepEqual(namespaces, [], 'network namespaces');
  // runc makes a sandbox's cgroup in each hierarchy (v1) or in the unified one (v2).
  for (const parent of sandboxCgroupParents(detectCgroupLayout())) assert.deepEqual(subdirs(parent), [], `sandbox cgroups in ${parent}`);
  // Each server's nftables table holds a chain sc-<id> per sandbox and goes with its last sandbox
  // (src/runtime/network/egress.ts).
  const ruleset = nftRuleset();
  assert.deepEqual(sandboxesWithRules(ruleset), [], 'nftables chains of sandboxes');
  assert.deepEqual(sandcastleTables(ruleset), [], 'nftables tables of servers');
});
