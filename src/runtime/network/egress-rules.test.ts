import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SandcastleError } from '../../errors.js';
import { createScript, filterChainRules, parseDenyEntry, parseRuleEntry, removalScript, updateScript } from './egress-rules.js';

const e = { chain: 'sc-abc', hostVeth: 'scabc', sandboxAddress: '10.77.0.2', networkCidr: '10.77.0.0/16' };

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
  const rules = filterChainRules(e, { internet: false, allow: ['1.1.1.1/32'], deny: ['0.0.0.0/0'], dns: ['9.9.9.9'] });
  assert.deepEqual(rules, [
    '-A sc-abc -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A sc-abc -o scabc -j DROP',
    '-A sc-abc ! -s 10.77.0.2/32 -j DROP',
    '-A sc-abc -m pkttype ! --pkt-type unicast -j DROP',
    '-A sc-abc -m addrtype --dst-type LOCAL -j REJECT --reject-with icmp-admin-prohibited',
    '-A sc-abc -d 10.77.0.0/16 -j REJECT --reject-with icmp-admin-prohibited',
    '-A sc-abc -d 9.9.9.9/32 -p udp --dport 53 -j ACCEPT',
    '-A sc-abc -d 9.9.9.9/32 -p tcp --dport 53 -j ACCEPT',
    '-A sc-abc -d 1.1.1.1/32 -j ACCEPT',
    '-A sc-abc -d 0.0.0.0/0 -j REJECT --reject-with icmp-admin-prohibited',
    '-A sc-abc -j REJECT --reject-with icmp-admin-prohibited',
  ]);
  const open = filterChainRules(e, { internet: true, allow: [], deny: [], dns: [] });
  assert.equal(open[open.length - 1], '-A sc-abc -j ACCEPT');
});

it('creates chains in filter and nat with their jumps, and updates only the filter chain', () => {
  const script = createScript(e, { internet: true, allow: [], deny: [], dns: [] });
  assert.match(script, /^\*filter\n:sc-abc - \[0:0\]\n/);
  for (const jump of ['-I FORWARD -i scabc -j sc-abc', '-I FORWARD -o scabc -j sc-abc', '-I INPUT -i scabc -j sc-abc', '-I POSTROUTING -s 10.77.0.2/32 -j sc-abc', '-A sc-abc -j MASQUERADE']) {
    assert.ok(script.includes(`${jump}\n`), jump);
  }
  const update = updateScript(e, { internet: false, allow: [], deny: [], dns: [] });
  assert.ok(!update.includes('*nat') && !update.includes('FORWARD'));
});

it('removes exactly the sandbox\'s jumps and chains from what iptables-save shows', () => {
  const saved = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':sc-abc - [0:0]',
    ':sc-abcd - [0:0]',
    '-A INPUT -i scabc -j sc-abc',
    '-A FORWARD -i scabcd -j sc-abcd',
    '-A sc-abc -j ACCEPT',
    'COMMIT',
    '*nat',
    ':sc-abc - [0:0]',
    '-A POSTROUTING -s 10.77.0.2/32 -j sc-abc',
    'COMMIT',
    '',
  ].join('\n');
  assert.equal(
    removalScript('sc-abc', saved),
    ['*filter', '-D INPUT -i scabc -j sc-abc', '-F sc-abc', '-X sc-abc', 'COMMIT', '*nat', '-D POSTROUTING -s 10.77.0.2/32 -j sc-abc', '-F sc-abc', '-X sc-abc', 'COMMIT', ''].join('\n'),
  );
  assert.equal(removalScript('sc-zzz', saved), undefined);
});
