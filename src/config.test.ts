import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { loadConfig } from './config.js';

const name = 'SANDCASTLE_EGRESS_ALLOW_PRIVATE';
const before = process.env[name];
afterEach(() => {
  if (before === undefined) delete process.env[name];
  else process.env[name] = before;
});

it('SANDCASTLE_EGRESS_ALLOW_PRIVATE: none by default, a list of CIDRs, addresses as /32', () => {
  delete process.env[name];
  assert.deepEqual(loadConfig().egressAllowPrivate, []);
  process.env[name] = ' 10.20.0.0/16, 192.168.1.5 ,169.254.77.0/24';
  assert.deepEqual(loadConfig().egressAllowPrivate, ['10.20.0.0/16', '192.168.1.5/32', '169.254.77.0/24']);
});

it('SANDCASTLE_EGRESS_ALLOW_PRIVATE: an entry that does not parse stops the start, named', () => {
  for (const [entry, why] of [
    ['intranet.example', /is not an IPv4 address or CIDR/],
    ['10.0.0.0/33', /prefix length outside 0–32/],
    ['fc00::/7', /is IPv6/],
  ] as const) {
    process.env[name] = `10.20.0.0/16,${entry}`;
    assert.throws(() => loadConfig(), (err: Error) => err.message.startsWith(`${name} entry "${entry}" `) && why.test(err.message), entry);
  }
});
