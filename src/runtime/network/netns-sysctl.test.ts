// The network sysctl helper on a real network namespace (root, as the suite runs): it sets the
// namespace's values and not the host's, and refuses a key that would leave /proc/sys/net.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setNetnsSysctls } from './netns-sysctl.js';

const name = `sc-sysctl-test-${randomBytes(3).toString('hex')}`;
const nsSysctl = (key: string) => execFileSync('ip', ['netns', 'exec', name, 'sysctl', '-n', key], { encoding: 'utf8' }).trim();
const hostSysctl = (key: string) => execFileSync('sysctl', ['-n', key], { encoding: 'utf8' }).trim();

describe('setNetnsSysctls', () => {
  before(() => execFileSync('ip', ['netns', 'add', name]));
  after(() => execFileSync('ip', ['netns', 'delete', name]));

  it("sets the namespace's values, leaving the host's as they were", async () => {
    const host = hostSysctl('net.ipv4.ip_unprivileged_port_start');
    await setNetnsSysctls(`/var/run/netns/${name}`, { 'net.ipv4.ip_unprivileged_port_start': '0', 'net.ipv4.ping_group_range': '0 2147483647' });
    assert.equal(nsSysctl('net.ipv4.ip_unprivileged_port_start'), '0');
    assert.equal(nsSysctl('net.ipv4.ping_group_range').replace(/\s+/, ' '), '0 2147483647');
    assert.equal(hostSysctl('net.ipv4.ip_unprivileged_port_start'), host);
  });

  it('refuses a key that climbs out of /proc/sys, and names an unknown one', async () => {
    await assert.rejects(setNetnsSysctls(`/var/run/netns/${name}`, { '../../etc/x': '1' }), /refusing the key/);
    await assert.rejects(setNetnsSysctls(`/var/run/netns/${name}`, { 'net.ipv4.no_such_key': '1' }), /no_such_key/);
  });
});
