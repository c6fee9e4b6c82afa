// Outbound networking of a sandbox, enforced on the host: NAT to the outside world and the
// per-sandbox iptables chains that egress-rules.ts writes (`sc-<id>` in the filter and nat tables).
// Domain names in allowOut are resolved once, when the rules are set, through the same name
// servers the sandbox uses; their later changes of address are not followed.
import { Resolver } from 'node:dns/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Config } from '../../config.js';
import { errors } from '../../errors.js';
import { OperationQueue } from '../../operation-queue.js';
import { createScript, type EgressEndpoints, parseDenyEntry, parseRuleEntry, removalScript, type ResolvedEgress, updateScript } from './egress-rules.js';
import { runCommand } from '../run-command.js';
import type { EgressPolicy, NetworkLease } from '../runtime.js';

export const openEgress: EgressPolicy = { allowInternetAccess: true, allowOut: [], denyOut: [] };

export function egressChain(sandboxId: string): string {
  return `sc-${sandboxId}`;
}

type Resolve = (name: string) => Promise<string[]>;

function resolverFor(servers: string[]): Resolve {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (servers.length > 0) resolver.setServers(servers);
  return (name) => resolver.resolve4(name);
}

/** Checks every entry and resolves the names; throws a 400-class error naming the bad entry. */
export async function resolveEgress(policy: EgressPolicy, dnsServers: string[], resolve: Resolve = resolverFor(dnsServers)): Promise<ResolvedEgress> {
  const allow: string[] = [];
  let named = false;
  for (const entry of policy.allowOut) {
    const target = parseRuleEntry('allowOut', entry);
    if (target.kind === 'cidr') {
      allow.push(target.cidr);
      continue;
    }
    named = true;
    const addresses = await resolve(target.name).catch((err: NodeJS.ErrnoException) => {
      throw errors.invalidNetworkRule('allowOut', entry, `could not be resolved (${err.code ?? err.message})`);
    });
    allow.push(...addresses.map((a) => `${a}/32`));
  }
  const deny = policy.denyOut.map(parseDenyEntry);
  return { internet: policy.allowInternetAccess, allow, deny, dns: named ? dnsServers : [] };
}

// One iptables change at a time from this process: concurrent restores of the nft backend may
// fail on a busy transaction instead of waiting.
const iptablesQueue = new OperationQueue();
const serialized = <T>(op: () => Promise<T>): Promise<T> => iptablesQueue.run('iptables', op);

function restore(script: string): Promise<string> {
  return runCommand('iptables-restore', ['-w', '--noflush'], { input: script });
}

/** Forwarding is what lets sandbox traffic leave through the host at all. */
function enableForwarding(): void {
  const file = '/proc/sys/net/ipv4/ip_forward';
  if (readFileSync(file, 'utf8').trim() !== '1') writeFileSync(file, '1');
}

function endpoints(sandboxId: string, hostVeth: string, lease: NetworkLease, config: Config): EgressEndpoints {
  return { chain: egressChain(sandboxId), hostVeth, sandboxAddress: lease.sandboxAddress, networkCidr: config.networkCidr };
}

export async function createEgress(sandboxId: string, hostVeth: string, lease: NetworkLease, policy: EgressPolicy, config: Config): Promise<void> {
  const resolved = await resolveEgress(policy, config.dnsServers);
  enableForwarding();
  await serialized(() => restore(createScript(endpoints(sandboxId, hostVeth, lease, config), resolved)));
}

/** Replaces the rules of a sandbox whose chains exist, atomically. */
export async function updateEgress(sandboxId: string, hostVeth: string, lease: NetworkLease, policy: EgressPolicy, config: Config): Promise<void> {
  const resolved = await resolveEgress(policy, config.dnsServers);
  await serialized(() => restore(updateScript(endpoints(sandboxId, hostVeth, lease, config), resolved)));
}

/** Removes the sandbox's chains and the rules that jump to them; idempotent. */
export async function removeEgress(sandboxId: string): Promise<void> {
  await serialized(async () => {
    const script = removalScript(egressChain(sandboxId), await runCommand('iptables-save', []));
    if (script) await restore(script);
  });
}
