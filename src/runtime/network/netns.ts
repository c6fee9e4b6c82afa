// A sandbox's network: a named network namespace joined to the host by a veth pair (host end named
// after the sandbox, sandbox end `eth0`), its outbound rules (egress.ts) and its resolv.conf.
// Everything is made together and removed together, idempotently.
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import type { Config } from '../../config.js';
import { type Egress, openEgress } from './egress.js';
import type { EgressPolicy, NetworkLease } from '../runtime.js';
import { runCommand } from '../run-command.js';
import { BatchQueue } from '../batch-queue.js';

export function netnsName(sandboxId: string): string {
  return `sc-${sandboxId}`;
}

export function netnsPath(sandboxId: string): string {
  return `/var/run/netns/${netnsName(sandboxId)}`;
}

/** iproute2's place for a namespace's own files (`ip netns exec` uses it too); the sandbox gets
 *  this resolv.conf bind-mounted over its /etc/resolv.conf. */
function netnsEtc(sandboxId: string): string {
  return `/etc/netns/${netnsName(sandboxId)}`;
}

export function resolvConfPath(sandboxId: string): string {
  return `${netnsEtc(sandboxId)}/resolv.conf`;
}

/** Interface names hold at most 15 characters; 13 random id characters keep them unique. */
function hostVeth(sandboxId: string): string {
  return `sc${sandboxId.slice(0, 13)}`;
}

function resolvConf(servers: string[]): string {
  if (servers.length === 0) return '# no name server reachable from sandboxes was found on the host\n';
  return servers.map((s) => `nameserver ${s}\n`).join('') + 'options edns0\n';
}

/** The host end takes no IPv6 at all. Without an address of its own it would still accept IPv6
 *  for the host's other addresses (e.g. a ULA on its uplink) from a sandbox that crafts frames
 *  (CAP_NET_RAW, when user namespaces are off), and the egress rules are IPv4 only. */
async function refuseIpv6(veth: string): Promise<void> {
  await writeFile(`/proc/sys/net/ipv6/conf/${veth}/disable_ipv6`, '1').catch((err: NodeJS.ErrnoException) => {
    // A kernel without IPv6 has nothing to refuse.
    if (err.code !== 'ENOENT') throw err;
  });
}

/** Forwarding is what lets sandbox traffic leave through the host at all. */
function enableForwarding(): void {
  const file = '/proc/sys/net/ipv4/ip_forward';
  if (readFileSync(file, 'utf8').trim() !== '1') writeFileSync(file, '1');
}

export async function createNetns(sandboxId: string, lease: NetworkLease, policy: EgressPolicy | undefined, egress: Egress, config: Config): Promise<void> {
  const ns = netnsName(sandboxId);
  const veth = hostVeth(sandboxId);
  // No IPv6 addresses on either end (addrgenmode none): link-local IPv6 would be a path to the
  // host's services that the IPv4 rules do not cover.
  const hostSide = [
    `netns add ${ns}`,
    `link add ${veth} type veth peer name eth0 netns ${ns}`,
    `link set ${veth} addrgenmode none`,
    `addr add ${lease.hostAddress}/${lease.prefixLength} dev ${veth}`,
    `link set ${veth} up`,
  ];
  const sandboxSide = [
    'link set lo up',
    'link set eth0 addrgenmode none',
    `addr add ${lease.sandboxAddress}/${lease.prefixLength} dev eth0`,
    'link set eth0 up',
    `route add default via ${lease.hostAddress}`,
  ];
  try {
    enableForwarding();
    await runCommand('ip', ['-batch', '-'], { input: hostSide.join('\n') + '\n' });
    await Promise.all([
      refuseIpv6(veth),
      runCommand('ip', ['-n', ns, '-batch', '-'], { input: sandboxSide.join('\n') + '\n' }),
      mkdir(netnsEtc(sandboxId), { recursive: true }).then(() => writeFile(resolvConfPath(sandboxId), resolvConf(config.dnsServers))),
      egress.set(sandboxId, veth, lease, policy ?? openEgress),
    ]);
  } catch (err) {
    await deleteNetns(sandboxId, egress).catch(() => undefined);
    throw err;
  }
}

/** Replaces the outbound rules of a sandbox whose network exists. */
export function setEgress(sandboxId: string, lease: NetworkLease, policy: EgressPolicy, egress: Egress): Promise<void> {
  return egress.set(sandboxId, hostVeth(sandboxId), lease, policy);
}

/** What is left of a sandbox's network to remove. */
interface NetworkRemoval {
  veth?: string;
  netns?: string;
}

/** The `ip` script removing a batch of sandbox networks. Deleting a veth takes the kernel's
 *  network lock and waits out a grace period, ~20 ms here, one link after another: 300 kills
 *  spent 9.7 s in them. Put in one device group, the batch's links go in one deletion with one
 *  wait (60 links: 1302 ms one by one, 66 ms as a group). The group is random, so another server
 *  on the host never deletes this one's links. */
export function removalScript(removals: NetworkRemoval[], group: number): string {
  const veths = removals.flatMap((r) => (r.veth ? [r.veth] : []));
  return [
    ...veths.map((v) => `link set dev ${v} group ${group}`),
    ...(veths.length ? [`link delete group ${group}`] : []),
    ...removals.flatMap((r) => (r.netns ? [`netns delete ${r.netns}`] : [])),
  ].join('\n') + '\n';
}

/** Networks of sandboxes stopping together are removed by one `ip` run. -force goes on past a
 *  step whose object vanished meanwhile or failed: each caller checks what is left of its own. */
const removals = new BatchQueue<NetworkRemoval>(async (batch) => {
  const group = randomInt(1, 2 ** 31);
  const failure = await runCommand('ip', ['-force', '-batch', '-'], { input: removalScript(batch, group) }).then(() => undefined, (err: Error) => err);
  return batch.map(() => failure);
});

/** Removes rules, resolv.conf, veth pair and namespace. The pair is deleted first, explicitly:
 *  left to the namespace's teardown, which the kernel finishes later, its host end would outlive
 *  this call. */
export async function deleteNetns(sandboxId: string, egress: Egress): Promise<void> {
  await egress.remove(sandboxId, hostVeth(sandboxId));
  await rm(netnsEtc(sandboxId), { recursive: true, force: true });
  const veth = `/sys/class/net/${hostVeth(sandboxId)}`;
  const removal = {
    ...(existsSync(veth) ? { veth: hostVeth(sandboxId) } : {}),
    ...(existsSync(netnsPath(sandboxId)) ? { netns: netnsName(sandboxId) } : {}),
  };
  if (!removal.veth && !removal.netns) return;
  const failure = await removals.submit(removal).then(() => undefined, (err: Error) => err);
  if (existsSync(veth) || existsSync(netnsPath(sandboxId))) {
    throw new Error(`network of sandbox ${sandboxId} not removed: ${failure?.message ?? 'still present'}`);
  }
}
