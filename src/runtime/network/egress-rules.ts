// The syntax of network rule entries and the nftables rules that enforce them, as pure functions
// (egress.ts runs them). Semantics follow the hosted product: allowOut wins over denyOut;
// `allow_internet_access: false` is a denyOut of 0.0.0.0/0; domain names only in allowOut. Above
// both, the server's own refusals: the host, other sandboxes, link-local and private ranges
// (unless the operator allows them), and DNS to anything but the configured resolvers.
import net from 'node:net';
import { errors } from '../../errors.js';

export type RuleList = 'allowOut' | 'denyOut';

export type RuleTarget = { kind: 'cidr'; cidr: string } | { kind: 'name'; name: string };

const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const domainName = new RegExp(`^(?=.{1,253}\\.?$)(?:${label}\\.)+${label}\\.?$`, 'i');

/** An IPv4 address (as a /32) or CIDR, or why the value is not one. */
export function parseIpv4Cidr(value: string): { cidr: string } | { problem: string } {
  const [addr, bits, extra] = value.trim().split('/');
  if (net.isIPv6(addr!)) return { problem: 'is IPv6; sandboxes have IPv4 networking only' };
  if (!net.isIPv4(addr!) || extra !== undefined) return { problem: 'is not an IPv4 address or CIDR' };
  if (bits === undefined) return { cidr: `${addr}/32` };
  if (!/^\d{1,2}$/.test(bits) || Number(bits) > 32) return { problem: 'has a prefix length outside 0–32' };
  return { cidr: `${addr}/${Number(bits)}` };
}

/** An entry as the API received it: an IPv4 address, an IPv4 CIDR or (allowOut only) a domain name. */
export function parseRuleEntry(list: RuleList, entry: unknown): RuleTarget {
  if (typeof entry !== 'string' || entry.trim() === '') throw errors.invalidNetworkRule(list, entry, 'must be a non-empty string');
  const value = entry.trim();
  const addr = value.split('/')[0]!;
  if (net.isIPv4(addr) || net.isIPv6(addr)) {
    const parsed = parseIpv4Cidr(value);
    if ('problem' in parsed) throw errors.invalidNetworkRule(list, entry, parsed.problem);
    return { kind: 'cidr', cidr: parsed.cidr };
  }
  if (value.startsWith('*.')) throw errors.invalidNetworkRule(list, entry, 'is a wildcard; this server resolves names when rules are set, so list each host name');
  if (!domainName.test(value)) throw errors.invalidNetworkRule(list, entry, 'is not an IPv4 address, CIDR or domain name');
  return { kind: 'name', name: value.replace(/\.$/, '').toLowerCase() };
}

/** A denyOut entry: an address or CIDR, never a name. */
export function parseDenyEntry(entry: unknown): string {
  const target = parseRuleEntry('denyOut', entry);
  if (target.kind === 'name') throw errors.invalidNetworkRule('denyOut', entry, 'is a domain name; domain names are only supported in allowOut');
  return target.cidr;
}

/** Rules with every name already resolved to addresses. */
export interface ResolvedEgress {
  internet: boolean;
  allow: string[];
  deny: string[];
  /** DNS to the configured resolvers is let through before the user's rules (allowOut named a
   *  domain, so resolving must work even where denyOut or no internet access would refuse it). */
  dns: boolean;
}

/**
 * Destinations refused to every sandbox whatever its rules, unless the operator's setting
 * (SANDCASTLE_EGRESS_ALLOW_PRIVATE) covers them: link-local (the clouds' metadata address
 * 169.254.169.254 included) and the private and shared (carrier-grade NAT) ranges a host's own
 * networks sit in. Their IPv6 counterparts (fe80::/10, fc00::/7) need no rule: sandboxes have no
 * IPv6 at all (netns.ts gives their veths no IPv6 address, not even a link-local one).
 */
export const refusedRanges: readonly string[] = ['169.254.0.0/16', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'];

/** The server's own nftables table: base chains on the forward, input and postrouting hooks that
 *  reach each sandbox's chain through one verdict map keyed by its host-side interface. */
export interface EgressTable {
  /** Table name in the `ip` family, one per server (its data directory). */
  name: string;
  /** Shown by `nft list tables`, so an operator can tell whose table it is. */
  comment: string;
  /** The server's whole sandbox range: other sandboxes are never a destination. */
  networkCidr: string;
  /** Parts of `refusedRanges` the operator lets sandboxes reach (IPv4 CIDRs). */
  allowPrivate: string[];
  /** The name servers of the sandboxes' resolv.conf: the only destinations of their DNS. */
  resolvers: string[];
}

export interface EgressEndpoints {
  /** The sandbox's chain in the table, named after the sandbox. */
  chain: string;
  /** Host end of the sandbox's veth pair. */
  hostVeth: string;
  sandboxAddress: string;
}

/** Map from a sandbox's host-side interface to a jump to its chain. */
const sandboxMap = 'sandboxes';
/** Named sets of the table, so that each sandbox chain needs one rule for each, whatever their
 *  size: `refusedRanges`, the operator's exceptions to them, and the resolvers. */
const refusedSet = 'refused';
const allowedSet = 'allowed';
const resolverSet = 'resolvers';
/** Chain a sandbox's packet to a refused range goes through: it returns what may pass there (DNS
 *  to a resolver in a private range, as on many hosts; the operator's exceptions), for the
 *  sandbox's own rules to decide, and refuses the rest. */
const refusedChain = 'refused_dest';
const reject = 'reject with icmp type admin-prohibited';
const dns = 'meta l4proto { tcp, udp } th dport 53';

/** Quotes a string for nft's parser (interface names and comments). */
function quoted(value: string): string {
  if (/["\\\n]/.test(value)) throw new Error(`cannot quote ${JSON.stringify(value)} for nft`);
  return `"${value}"`;
}

/**
 * nft commands that make the table if it is missing and (re)write its base chains: jumps through
 * the map for everything entering or leaving a sandbox's veth (forward) and everything a sandbox
 * sends to the host (input), and NAT for what a sandbox sends out of its range; and its sets and
 * the chain for refused ranges. Rewriting them in the same transaction as the first change of a
 * server process keeps them current (a changed range, setting or resolver) without a moment with
 * no rules.
 */
export function tableScript(t: EgressTable): string[] {
  const table = `ip ${t.name}`;
  const set = (name: string, flags: string, elements: readonly string[]) => [
    `add set ${table} ${name} { type ipv4_addr; ${flags}}`,
    `flush set ${table} ${name}`,
    ...(elements.length > 0 ? [`add element ${table} ${name} { ${elements.join(', ')} }`] : []),
  ];
  // Intervals may overlap (10.0.0.0/8 and 10.1.0.0/16 in one list): auto-merge joins them.
  const intervals = 'flags interval; auto-merge; ';
  const resolvers = t.resolvers.filter((s) => net.isIPv4(s));
  return [
    `add table ${table} { comment ${quoted(t.comment)}; }`,
    `add chain ${table} forward { type filter hook forward priority filter; policy accept; }`,
    `add chain ${table} input { type filter hook input priority filter; policy accept; }`,
    `add chain ${table} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `add map ${table} ${sandboxMap} { type ifname : verdict; }`,
    ...set(refusedSet, intervals, refusedRanges),
    ...set(allowedSet, intervals, t.allowPrivate),
    ...set(resolverSet, '', resolvers),
    `add chain ${table} ${refusedChain}`,
    `flush chain ${table} ${refusedChain}`,
    `add rule ${table} ${refusedChain} ip daddr @${resolverSet} ${dns} return`,
    `add rule ${table} ${refusedChain} ip daddr @${allowedSet} return`,
    `add rule ${table} ${refusedChain} ${reject}`,
    `flush chain ${table} forward`,
    `flush chain ${table} input`,
    `flush chain ${table} postrouting`,
    `add rule ${table} forward iifname vmap @${sandboxMap}`,
    `add rule ${table} forward oifname vmap @${sandboxMap}`,
    `add rule ${table} input iifname vmap @${sandboxMap}`,
    // The proxy's connections into sandboxes (to the range) keep their source.
    `add rule ${table} postrouting ip saddr ${t.networkCidr} ip daddr != ${t.networkCidr} masquerade`,
  ];
}

/** The sandbox chain's rules, first match wins. */
export function sandboxChainRules(t: EgressTable, e: EgressEndpoints, r: ResolvedEgress): string[] {
  return [
    // Answers to connections someone was allowed to open: the proxy's into the sandbox (which come
    // from the host itself, through output, never through this chain) and the sandbox's own.
    'ct state established,related accept',
    // Nothing opens connections into a sandbox through the host (other sandboxes, the outside).
    `oifname ${quoted(e.hostVeth)} drop`,
    `ip saddr != ${e.sandboxAddress} drop`,
    'meta pkttype != unicast drop',
    // The host's own services (the API and proxy ports included) on any of its addresses.
    `fib daddr type local ${reject}`,
    `ip daddr ${t.networkCidr} ${reject}`,
    ...(r.dns ? [`ip daddr @${resolverSet} ${dns} accept`] : []),
    // DNS goes to the configured resolvers only, whatever else is allowed.
    `ip daddr != @${resolverSet} ${dns} ${reject}`,
    // Before allowOut, so the user's rules cannot open what the operator has not.
    `ip daddr @${refusedSet} jump ${refusedChain}`,
    ...r.allow.map((c) => `ip daddr ${c} accept`),
    ...r.deny.map((c) => `ip daddr ${c} ${reject}`),
    r.internet ? 'accept' : reject,
  ];
}

/** nft commands that give a sandbox its chain with these rules (replacing any it had: the flush
 *  and the new rules commit together) and hook it in. */
export function sandboxScript(t: EgressTable, e: EgressEndpoints, r: ResolvedEgress): string[] {
  const table = `ip ${t.name}`;
  return [
    `add chain ${table} ${e.chain}`,
    `flush chain ${table} ${e.chain}`,
    ...sandboxChainRules(t, e, r).map((rule) => `add rule ${table} ${e.chain} ${rule}`),
    `add element ${table} ${sandboxMap} { ${quoted(e.hostVeth)} : jump ${e.chain} }`,
  ];
}

/** nft commands that unhook a sandbox whose chain exists and remove the chain. */
export function sandboxRemovalScript(t: EgressTable, e: Pick<EgressEndpoints, 'chain' | 'hostVeth'>): string[] {
  const table = `ip ${t.name}`;
  return [`delete element ${table} ${sandboxMap} { ${quoted(e.hostVeth)} }`, `flush chain ${table} ${e.chain}`, `delete chain ${table} ${e.chain}`];
}

/** Names of the sandbox chains in the output of `nft -j list chains ip`, for the table `name`,
 *  and whether that table exists at all. */
export function chainsOfTable(listing: string, name: string, isSandboxChain: (chain: string) => boolean): { exists: boolean; chains: string[] } {
  const parsed = JSON.parse(listing) as { nftables?: Array<{ chain?: { table?: string; name?: string } }> };
  const ours = (parsed.nftables ?? []).flatMap((o) => (o.chain?.table === name && o.chain.name ? [o.chain.name] : []));
  return { exists: ours.length > 0, chains: ours.filter(isSandboxChain) };
}
