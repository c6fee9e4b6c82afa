// A sandbox's network: a named network namespace joined to the host by a veth pair
// (host end named after the sandbox, sandbox end `eth0`), set up with two `ip -batch` runs.
import { existsSync } from 'node:fs';
import type { NetworkLease } from './runtime.js';
import { runCommand } from './run-command.js';

export function netnsName(sandboxId: string): string {
  return `sc-${sandboxId}`;
}

export function netnsPath(sandboxId: string): string {
  return `/var/run/netns/${netnsName(sandboxId)}`;
}

/** Interface names hold at most 15 characters; 13 random id characters keep them unique. */
function hostVeth(sandboxId: string): string {
  return `sc${sandboxId.slice(0, 13)}`;
}

export async function createNetns(sandboxId: string, lease: NetworkLease): Promise<void> {
  const ns = netnsName(sandboxId);
  const veth = hostVeth(sandboxId);
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
    await deleteNetns(sandboxId).catch(() => undefined);
    throw err;
  }
}

/** Removes the namespace (its eth0 goes with it, and so does the host end of the pair). */
export async function deleteNetns(sandboxId: string): Promise<void> {
  if (existsSync(netnsPath(sandboxId))) {
    await runCommand('ip', ['netns', 'delete', netnsName(sandboxId)]);
  } else if (existsSync(`/sys/class/net/${hostVeth(sandboxId)}`)) {
    // Without its namespace, a pair can only be a half-made one left on the host side.
    await runCommand('ip', ['link', 'delete', hostVeth(sandboxId)]);
  }
}
