// The syntax of network rule entries and the iptables rules that enforce them, as pure functions
// (egress.ts runs them). Semantics follow the hosted product: allowOut wins over denyOut;
// `allow_internet_access: false` is a denyOut of 0.0.0.0/0; domain names only in allowOut.
import net from 'node:net';
import { errors } from '../../errors.js';

export type RuleList = 'allowOut' | 'denyOut';

export type RuleTarget = { kind: 'cidr'; cidr: string } | { kind: 'name'; name: string };

const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const domainName = new RegExp(`^(?=.{1,253}\\.?$)(?:${label}\\.)+${label}\\.?$`, 'i');

/** An entry as the API received it: an IPv4 address, an IPv4 CIDR or (allowOut only) a domain name. */
export function parseRuleEntry(list: RuleList, entry: unknown): RuleTarget {
  if (typeof entry !== 'string' || entry.trim() === '') throw errors.invalidNetworkRule(list, entry, 'must be a non-empty string');
  const value = entry.trim();
  const [addr, bits, extra] = value.split('/');
  if (net.isIPv4(addr!)) {
    if (extra !== undefined) throw errors.invalidNetworkRule(list, entry, 'is not an IPv4 address or CIDR');
    if (bits === undefined) return { kind: 'cidr', cidr: `${addr}/32` };
    const prefix = Number(bits);
    if (!/^\d{1,2}$/.test(bits) || prefix > 32) throw errors.invalidNetworkRule(list, entry, 'has a prefix length outside 0–32');
    return { kind: 'cidr', cidr: `${addr}/${prefix}` };
  }
  if (net.isIPv6(addr!)) throw errors.invalidNetworkRule(list, entry, 'is IPv6; sandboxes have IPv4 networking only');
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
  /** Name servers the sandbox may always query (allowOut named a domain, so resolving must work). */
  dns: string[];
}

export interface EgressEndpoints {
  /** Chain in the filter and nat tables, named after the sandbox. */
  chain: string;
  /** Host end of the sandbox's veth pair. */
  hostVeth: string;
  sandboxAddress: string;
  /** The server's whole sandbox range: other sandboxes are never a destination. */
  networkCidr: string;
}

const reject = '-j REJECT --reject-with icmp-admin-prohibited';

/** The filter chain's rules, first match wins. It is jumped to for everything entering or leaving
 *  the sandbox's veth on the host (FORWARD) and everything the sandbox sends to the host (INPUT). */
export function filterChainRules(e: EgressEndpoints, r: ResolvedEgress): string[] {
  const a = (rule: string) => `-A ${e.chain} ${rule}`;
  return [
    // Answers to connections someone was allowed to open: the proxy's into the sandbox (which come
    // from the host itself, through OUTPUT, never through this chain) and the sandbox's own.
    a('-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT'),
    // Nothing opens connections into a sandbox through the host (other sandboxes, the outside).
    a(`-o ${e.hostVeth} -j DROP`),
    a(`! -s ${e.sandboxAddress}/32 -j DROP`),
    a('-m pkttype ! --pkt-type unicast -j DROP'),
    // The host's own services (the API and proxy ports included) on any of its addresses.
    a(`-m addrtype --dst-type LOCAL ${reject}`),
    a(`-d ${e.networkCidr} ${reject}`),
    ...r.dns.flatMap((s) => [a(`-d ${s}/32 -p udp --dport 53 -j ACCEPT`), a(`-d ${s}/32 -p tcp --dport 53 -j ACCEPT`)]),
    ...r.allow.map((c) => a(`-d ${c} -j ACCEPT`)),
    ...r.deny.map((c) => a(`-d ${c} ${reject}`)),
    r.internet ? a('-j ACCEPT') : a(reject),
  ];
}

/** iptables-restore input that creates the sandbox's chains and hooks them in. */
export function createScript(e: EgressEndpoints, r: ResolvedEgress): string {
  return [
    '*filter',
    `:${e.chain} - [0:0]`,
    ...filterChainRules(e, r),
    `-I FORWARD -i ${e.hostVeth} -j ${e.chain}`,
    `-I FORWARD -o ${e.hostVeth} -j ${e.chain}`,
    `-I INPUT -i ${e.hostVeth} -j ${e.chain}`,
    'COMMIT',
    '*nat',
    `:${e.chain} - [0:0]`,
    `-A ${e.chain} -j MASQUERADE`,
    `-I POSTROUTING -s ${e.sandboxAddress}/32 -j ${e.chain}`,
    'COMMIT',
    '',
  ].join('\n');
}

/** iptables-restore --noflush input that replaces the filter chain's rules in one transaction
 *  (declaring an existing chain flushes it). */
export function updateScript(e: EgressEndpoints, r: ResolvedEgress): string {
  return ['*filter', `:${e.chain} - [0:0]`, ...filterChainRules(e, r), 'COMMIT', ''].join('\n');
}

/** iptables-restore --noflush input that removes every trace of `chain` found in `saved` (the
 *  output of iptables-save), or undefined when there is none. */
export function removalScript(chain: string, saved: string): string | undefined {
  const jump = new RegExp(`(^| )-j ${chain.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |$)`);
  const out: string[] = [];
  let table: string | undefined;
  let body: string[] = [];
  const flush = () => {
    if (table && body.length > 0) out.push(`*${table}`, ...body, 'COMMIT');
    body = [];
  };
  const ownChain: string[] = [];
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) {
      flush();
      table = line.slice(1).trim();
      ownChain.length = 0;
    } else if (line === 'COMMIT') {
      body.push(...ownChain.flatMap((c) => [`-F ${c}`, `-X ${c}`]));
      flush();
      table = undefined;
      ownChain.length = 0;
    } else if (line.startsWith(`:${chain} `)) {
      ownChain.push(chain);
    } else if (line.startsWith('-A ') && !line.startsWith(`-A ${chain} `) && jump.test(line)) {
      body.push(`-D ${line.slice(3)}`);
    }
  }
  return out.length > 0 ? out.join('\n') + '\n' : undefined;
}
