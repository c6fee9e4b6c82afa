// A sandbox's network: a named network namespace joined to the host by a veth pair
// (host end `scv<index>`, sandbox end `eth0`), set up with two `ip -batch` runs.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import type { NetworkLease } from './runtime.js';
import { runCommand } from './run-command.js';

export const netnsDir = '/var/run/netns';

export function netnsName(sandboxId: string): string {
  return `sc-${sandboxId}`;
}

export function netnsPath(sandboxId: string): string {
  return `${netnsDir}/${netnsName(sandboxId)}`;
}

function hostVeth(lease: NetworkLease): string {
  return `scv${lease.index}`;
}

export async function createNetns(sandboxId: string, lease: NetworkLease): Promise<void> {
  const ns = netnsName(sandboxId);
  const veth = hostVeth(lease);
  const hostSide = [
    `netns add ${ns}`,
    `link add ${veth} type veth peer name eth0 netns ${ns}`,
    `addr add ${lease.hostAddress}/${lease.prefixLength} dev ${veth}`,
    `link set ${veth} up`,
  ];
  const sandboxSide = [
    'link set lo up',
    `addr add ${lease.sandboxAddress}/${lease.prefixLength} dev eth0`,
    'link set eth0 up',
    `route add default via ${lease.hostAddress}`,
  ];
  try {
    await runCommand('ip', ['-batch', '-'], { input: hostSide.join('\n') + '\n' });
    await runCommand('ip', ['-n', ns, '-batch', '-'], { input: sandboxSide.join('\n') + '\n' });
  } catch (err) {
    await deleteNetns(sandboxId, lease).catch(() => undefined);
    throw err;
  }
}

/** Removes the namespace (its eth0 goes with it, and so does the host end of the pair). */
export async function deleteNetns(sandboxId: string, lease: NetworkLease | null): Promise<void> {
  if (existsSync(netnsPath(sandboxId))) await runCommand('ip', ['netns', 'delete', netnsName(sandboxId)]);
  // A half-made pair whose peer never reached the namespace stays on the host side.
  if (lease && existsSync(`/sys/class/net/${hostVeth(lease)}`)) {
    await runCommand('ip', ['link', 'delete', hostVeth(lease)]);
  }
}

/** Sandbox ids that still have a namespace on this host. */
export async function listNetns(): Promise<string[]> {
  const names = await readdir(netnsDir).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith('sc-')).map((n) => n.slice(3));
}
