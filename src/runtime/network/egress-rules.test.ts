import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SandcastleError } from '../../errors.js';
import { chainsOfTable, parseDenyEntry, parseIpv4Cidr, parseRuleEntry, refusedRanges, sandboxChainRules, sandboxRemovalScript, sandboxScript, tableScript } from './egress-rules.js';

const t = { name: 'sandcastle-1234abcd', comment: 'Sandcastle sandboxes of /var/lib/sandcastle', networkCidr: '10.77.0.0/16', allowPrivate: [], resolvers: ['10.255.255.53'] };
const e = { chain: 'sc-abc', hostVeth: 'scabc', sandboxAddress: '10.77.0.2' };

it('parses addresses, CIDRs and names, and refuses the rest with a 400 naming the entry', () => {
  assert.deepEqual(parseRuleEntry('allowOut', '1.1.1.1'), { kind: 'cidr', cidr: '1.1.1.1/32' });
  assert.deepEqual(parseRuleEntry('allowOut', '8.8.8.0/24'), { kind: 'cidr', cidr: '8.8.8.0/24' });
  assert.deepEqual(parseRuleEntry('allowOut', 'API.Example.com.'), { kind: 'name', name: 'api.example.com' });
  assert.equal(parseDenyEntry('0.0.0.0/0'), '0.0.0.0/0');
  for (const [list, entry, why] of [
    ['allowOut', '1.2.3.4/40', /prefix length/],
    ['allowOut', '1.2.3.4/8/1', /not an IPv4 address or CIDR/],
    ['allowOut', '::1', /IPv6/],
    ['allowOut', '*.example.com', /wildcard/],
    ['allowOut', 'a b', /not an IPv4 address, CIDR or domain name/],
    ['allowOut', 42, /non-empty string/],
    ['denyOut', 'example.com', /only supported in allowOut/],
  ] as const) {
    assert.throws(
      () => (list === 'denyOut' ? parseDenyEntry(entry) : parseRuleEntry(list, entry)),
      (err: unknown) => err instanceof SandcastleError && err.status === 400 && why.test(err.message) && err.message.includes(JSON.stringify(entry)),
    );
  }
});

it('parses the operator\'s CIDRs: an address is a /32, anything else says what is wrong', () => {
  assert.deepEqual(parseIpv4Cidr(' 10.20.0.0/16 '), { cidr: '10.20.0.0/16' });
  assert.deepEqual(parseIpv4Cidr('192.168.1.5'), { cidr: '192.168.1.5/32' });
  assert.deepEqual(parseIpv4Cidr('10.0.0.0/08'), { cidr: '10.0.0.0/8' });
  assert.deepEqual(parseIpv4Cidr('10.0.0.0/33'), { problem: 'has a prefix length outside 0–32' });
  assert.deepEqual(parseIpv4Cidr('10.0.0.0/'), { problem: 'has a prefix length outside 0–32' });
  assert.deepEqual(parseIpv4Cidr('fc00::/7'), { problem: 'is IPv6; sandboxes have IPv4 networking only' });
  assert.deepEqual(parseIpv4Cidr('intranet.example'), { problem: 'is not an IPv4 address or CIDR' });
  assert.deepEqual(parseIpv4Cidr('10.0.0.256'), { problem: 'is not an IPv4 address or CIDR' });
});

it('orders the chain: replies, no way in, no spoofing, no host, no other sandbox, DNS, refused ranges, then allow before deny', () => {
  const rules = sandboxChainRules(t, e, { internet: false, allow: ['1.1.1.1/32'], deny: ['0.0.0.0/0'], dns: true });
  assert.deepEqual(rules, [
    'ct state established,related accept',
    'oifname "scabc" drop',
    'ip saddr != 10.77.0.2 drop',
    'meta pkttype != unicast drop',
    'fib daddr type local reject with icmp type admin-prohibited',
    'ip daddr 10.77.0.0/16 reject with icmp type admin-prohibited',
    'ip daddr @resolvers meta l4proto { tcp, udp } th dport 53 accept',
    'ip daddr != @resolvers meta l4proto { tcp, udp } th dport 53 reject with icmp type admin-prohibited',
    'ip daddr @refused jump refused_dest',
    'ip daddr 1.1.1.1/32 accept',
    'ip daddr 0.0.0.0/0 reject with icmp type admin-prohibited',
    'reject with icmp type admin-prohibited',
  ]);
  const open = sandboxChainRules(t, e, { internet: true, allow: ['10.0.0.5/32'], deny: [], dns: false });
  assert.equal(open[open.length - 1], 'accept');
  assert.ok(!open.some((r) => r.endsWith('th dport 53 accept')), 'without a named domain, DNS to the resolvers is left to the rules that follow');
  // The refused ranges come before the user's allowOut, so it cannot open them.
  assert.ok(open.indexOf('ip daddr @refused jump refused_dest') < open.indexOf('ip daddr 10.0.0.5/32 accept'));
  assert.equal(open.filter((r) => r.includes('@refused')).length, 1, 'one rule for every refused range, however many');
});

it('refuses link-local and private ranges through named sets, with the resolvers\' DNS and the operator\'s ranges let on', () => {
  assert.deepEqual(refusedRanges, ['169.254.0.0/16', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10']);
  const table = tableScript({ ...t, allowPrivate: ['10.20.0.0/16', '192.168.7.1/32'], resolvers: ['10.255.255.53', '2001:db8::53'] });
  const at = (line: string) => {
    const i = table.indexOf(`${line.startsWith('add') || line.startsWith('flush') ? '' : 'add rule ip sandcastle-1234abcd refused_dest '}${line}`);
    assert.ok(i >= 0, line);
    return i;
  };
  at('add set ip sandcastle-1234abcd refused { type ipv4_addr; flags interval; auto-merge; }');
  at('add element ip sandcastle-1234abcd refused { 169.254.0.0/16, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10 }');
  at('add element ip sandcastle-1234abcd allowed { 10.20.0.0/16, 192.168.7.1/32 }');
  // IPv6 resolvers are left out: sandboxes have no IPv6, and the set holds IPv4 addresses.
  at('add element ip sandcastle-1234abcd resolvers { 10.255.255.53 }');
  // A rewrite replaces the sets' elements in the same transaction (a changed setting).
  assert.ok(at('flush set ip sandcastle-1234abcd allowed') < at('add element ip sandcastle-1234abcd allowed { 10.20.0.0/16, 192.168.7.1/32 }'));
  // Resolver DNS, then the operator's ranges go back to the sandbox's rules; the rest is refused.
  assert.ok(at('ip daddr @resolvers meta l4proto { tcp, udp } th dport 53 return') < at('ip daddr @allowed return'));
  assert.ok(at('ip daddr @allowed return') < at('reject with icmp type admin-prohibited'));
  assert.ok(at('flush chain ip sandcastle-1234abcd refused_dest') < at('ip daddr @resolvers meta l4proto { tcp, udp } th dport 53 return'));
  // Empty lists make empty sets, with no element command (nft refuses `{ }`).
  const bare = tableScript({ ...t, resolvers: [] });
  assert.ok(bare.includes('add set ip sandcastle-1234abcd allowed { type ipv4_addr; flags interval; auto-merge; }'));
  assert.ok(!bare.some((l) => l.startsWith('add element ip sandcastle-1234abcd allowed') || l.startsWith('add element ip sandcastle-1234abcd resolvers')));
});

it('makes the table with its hooks and NAT, and replaces a sandbox chain in the same transaction as its new rules', () => {
  const table = tableScript(t);
  assert.equal(table[0], 'add table ip sandcastle-1234abcd { comment "Sandcastle sandboxes of /var/lib/sandcastle"; }');
  for (const line of [
    'add rule ip sandcastle-1234abcd forward iifname vmap @sandboxes',
    'add rule ip sandcastle-1234abcd forward oifname vmap @sandboxes',
    'add rule ip sandcastle-1234abcd input iifname vmap @sandboxes',
    'add rule ip sandcastle-1234abcd postrouting ip saddr 10.77.0.0/16 ip daddr != 10.77.0.0/16 masquerade',
  ]) {
    assert.ok(table.includes(line), line);
  }
  // Base chains are flushed before their rules are added again, so a rewrite never doubles them.
  assert.ok(table.indexOf('flush chain ip sandcastle-1234abcd forward') < table.indexOf('add rule ip sandcastle-1234abcd forward iifname vmap @sandboxes'));
  const sandbox = sandboxScript(t, e, { internet: true, allow: [], deny: ['8.8.8.8/32'], dns: false });
  assert.deepEqual(sandbox.slice(0, 2), ['add chain ip sandcastle-1234abcd sc-abc', 'flush chain ip sandcastle-1234abcd sc-abc']);
  assert.ok(sandbox.includes('add rule ip sandcastle-1234abcd sc-abc ip daddr 8.8.8.8/32 reject with icmp type admin-prohibited'));
  assert.equal(sandbox[sandbox.length - 1], 'add element ip sandcastle-1234abcd sandboxes { "scabc" : jump sc-abc }');
  assert.deepEqual(sandboxRemovalScript(t, e), [
    'delete element ip sandcastle-1234abcd sandboxes { "scabc" }',
    'flush chain ip sandcastle-1234abcd sc-abc',
    'delete chain ip sandcastle-1234abcd sc-abc',
  ]);
});

it('finds the sandbox chains of its own table in `nft -j list chains`', () => {
  const chain = (table: string, name: string) => ({ chain: { family: 'ip', table, name, handle: 1 } });
  const listing = JSON.stringify({
    nftables: [{ metainfo: { version: '1.0.6' } }, chain(t.name, 'forward'), chain(t.name, 'sc-abc'), chain('sandcastle-other', 'sc-def'), chain('CRIU-1', 'sc-ghi')],
  });
  assert.deepEqual(chainsOfTable(listing, t.name, (c) => c.startsWith('sc-')), { exists: true, chains: ['sc-abc'] });
  assert.deepEqual(chainsOfTable(JSON.stringify({ nftables: [{ metainfo: {} }] }), t.name, () => true), { exists: false, chains: [] });
});
