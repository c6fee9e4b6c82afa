import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SandcastleError } from '../../errors.js';
import { chainsOfTable, parseDenyEntry, parseRuleEntry, sandboxChainRules, sandboxRemovalScript, sandboxScript, tableScript } from './egress-rules.js';

const t = { name: 'sandcastle-1234abcd', comment: 'Sandcastle sandboxes of /var/lib/sandcastle', networkCidr: '10.77.0.0/16' };
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

it('orders the chain: replies, no way in, no spoofing, no host, no other sandbox, then allow before deny', () => {
  const rules = sandboxChainRules(t, e, { internet: false, allow: ['1.1.1.1/32'], deny: ['0.0.0.0/0'], dns: ['9.9.9.9'] });
  assert.deepEqual(rules, [
    'ct state established,related accept',
    'oifname "scabc" drop',
    'ip saddr != 10.77.0.2 drop',
    'meta pkttype != unicast drop',
    'fib daddr type local reject with icmp type admin-prohibited',
    'ip daddr 10.77.0.0/16 reject with icmp type admin-prohibited',
    'ip daddr 9.9.9.9 udp dport 53 accept',
    'ip daddr 9.9.9.9 tcp dport 53 accept',
    'ip daddr 1.1.1.1/32 accept',
    'ip daddr 0.0.0.0/0 reject with icmp type admin-prohibited',
    'reject with icmp type admin-prohibited',
  ]);
  const open = sandboxChainRules(t, e, { internet: true, allow: [], deny: [], dns: [] });
  assert.equal(open[open.length - 1], 'accept');
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
  const sandbox = sandboxScript(t, e, { internet: true, allow: [], deny: ['8.8.8.8/32'], dns: [] });
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
