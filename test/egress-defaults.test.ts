// What a sandbox with internet access still cannot reach: fake hosts on a link-local and on private
// addresses (network namespaces this test makes; never the real metadata address) stay out of
// reach, also when the user's allowOut names them, until the operator's
// SANDCASTLE_EGRESS_ALLOW_PRIVATE lists them; the fake internet stays reachable; DNS goes to the
// configured resolver only; no IPv6 at all. Checked from inside sandboxes with the unmodified SDK,
// and in the installed nftables table.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Sandbox } from 'novita-sandbox';
import { egressTableName } from '../src/runtime/network/egress.js';
import { type FakeInternet, startFakeInternet } from './support/fake-internet.js';
import { disposeServer, type ServerProcess, startServerProcess, useServer } from './support/server-process.js';

// Nets 40–44 of fake-internet.ts: apart from the other tests' fake internets. The private and
// link-local subnets are not routed on this host (its networks are checked below).
const hosts = {
  resolver: { net: 40 },
  otherDns: { net: 41 },
  linkLocal: { net: 42, subnet: { address: '169.254.77.1', hostAddress: '169.254.77.2', prefixLength: 24 } },
  private10: { net: 43, subnet: { address: '10.200.0.1', hostAddress: '10.200.0.2', prefixLength: 24 } },
  private192: { net: 44, subnet: { address: '192.168.77.1', hostAddress: '192.168.77.2', prefixLength: 24 } },
};
const fakes: FakeInternet[] = [];
const servers: ServerProcess[] = [];
let resolver: string;
let otherDns: string;

/** Starts a server whose sandboxes resolve through the fake resolver; disposed after the tests. */
async function startServer(env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const server = await startServerProcess({ env: { SANDCASTLE_DNS_SERVERS: resolver, ...env } });
  servers.push(server);
  useServer(server);
  return server;
}

before(async () => {
  const routes = execFileSync('ip', ['-4', 'route', 'show'], { encoding: 'utf8' });
  for (const prefix of ['169.254.77.', '10.200.0.', '192.168.77.']) {
    assert.ok(!routes.includes(prefix), `this host already routes ${prefix}0/24; the test would shadow it:\n${routes}`);
  }
  for (const opts of Object.values(hosts)) fakes.push(await startFakeInternet(opts));
  [resolver, otherDns] = [fakes[0]!.address, fakes[1]!.address];
});

after(async () => {
  for (const server of servers) await disposeServer(server).catch((err: Error) => console.error(err.message));
  for (const fake of fakes) await fake.close();
});

/** Fetches the fake host's page from inside the sandbox: whether it answered, and what curl said. */
async function reaches(sbx: Sandbox, address: string): Promise<boolean> {
  const r = await sbx.commands.run(`curl -sS -m 3 http://${address}:8080/; echo " exit=$?"`);
  const out = (r.stdout + r.stderr).trim();
  return /^hello from the internet\n exit=0$/.test(out);
}

/** A DNS query for www.fake.test over UDP, and a TCP connection to port 53, from inside. */
const dnsProbe = `
import socket, struct, sys
server = sys.argv[1]
q = struct.pack('>HHHHHH', 0x5ca1, 0x0100, 1, 0, 0, 0) + b'\\x03www\\x04fake\\x04test\\x00' + struct.pack('>HH', 1, 1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(2)
try:
    u.sendto(q, (server, 53))
    udp = 'answered' if u.recv(512)[:2] == q[:2] else 'garbled'
except OSError as e:
    udp = type(e).__name__
t = socket.socket()
t.settimeout(2)
try:
    t.connect((server, 53))
    tcp = 'connected'
except OSError as e:
    tcp = 'errno %s' % e.errno if e.errno else type(e).__name__
print(udp, tcp)
`;

async function dns(sbx: Sandbox, server: string): Promise<{ udp: string; tcp: string }> {
  const r = await sbx.commands.run(`python3 /tmp/dns-probe.py ${server}`);
  const [udp, ...tcp] = r.stdout.trim().split(' ');
  return { udp: udp!, tcp: tcp.join(' ') };
}

interface NftSet {
  set: { name: string; table: string; elem?: Array<string | { prefix: { addr: string; len: number } }> };
}

/** The elements of each named set in the server's table, as `nft -j` lists them. */
function installedSets(server: ServerProcess): Record<string, string[]> {
  const listing = JSON.parse(execFileSync('nft', ['-j', 'list', 'table', 'ip', egressTableName(server.dataDir)], { encoding: 'utf8' })) as { nftables: Array<Partial<NftSet>> };
  const sets: Record<string, string[]> = {};
  for (const { set } of listing.nftables) {
    if (set) sets[set.name] = (set.elem ?? []).map((e) => (typeof e === 'string' ? e : `${e.prefix.addr}/${e.prefix.len}`));
  }
  return sets;
}

describe('egress defaults', () => {
  it('with internet on, link-local and private hosts are refused, also to allowOut; the internet and the resolver are not', async () => {
    const server = await startServer();
    const sbx = await Sandbox.create();
    const asked = await Sandbox.create({ network: { allowOut: ['169.254.77.1', '10.200.0.0/24'] } });
    try {
      assert.equal(await reaches(sbx, resolver), true, 'the fake internet (198.18.x) is reachable');
      assert.equal(await reaches(sbx, otherDns), true, 'so is another host there, on other ports than DNS');
      for (const address of ['169.254.77.1', '10.200.0.1', '192.168.77.1']) {
        assert.equal(await reaches(sbx, address), false, `${address} must be refused by default`);
        assert.equal(await reaches(asked, address), false, `${address} must stay refused when allowOut names it on create`);
      }
      // A live update naming them is accepted (as by the hosted product) and opens nothing.
      await Sandbox.setNetwork(sbx.sandboxId, { allowOut: ['169.254.77.1', '10.200.0.1', '192.168.77.0/24'] });
      for (const address of ['169.254.77.1', '10.200.0.1', '192.168.77.1']) {
        assert.equal(await reaches(sbx, address), false, `${address} must stay refused when allowOut names it`);
      }
      assert.equal(await reaches(sbx, resolver), true);

      await sbx.files.write('/tmp/dns-probe.py', dnsProbe);
      // Nothing listens on TCP 53 at the resolver: "connection refused" (111) means the packet
      // got there; to any other address the firewall answers "no route to host" (113).
      assert.deepEqual(await dns(sbx, resolver), { udp: 'answered', tcp: 'errno 111' });
      const other = await dns(sbx, otherDns);
      assert.notEqual(other.udp, 'answered', 'DNS to another server than the configured one is refused');
      assert.equal(other.tcp, 'errno 113', 'TCP DNS to another server is refused too');
      const lookup = await sbx.commands.run('getent hosts www.fake.test');
      assert.match(lookup.stdout, new RegExp(`^${resolver.replaceAll('.', '\\.')}\\s+www\\.fake\\.test`), 'names resolve through resolv.conf');

      // No IPv6 either way: none inside, and the host end drops any that a sandbox would craft.
      assert.doesNotMatch((await sbx.commands.run('cat /proc/net/if_inet6')).stdout, /eth0/);
      assert.equal(readFileSync(`/proc/sys/net/ipv6/conf/sc${sbx.sandboxId.slice(0, 13)}/disable_ipv6`, 'utf8').trim(), '1');

      const sets = installedSets(server);
      assert.deepEqual(sets.refused?.sort(), ['10.0.0.0/8', '100.64.0.0/10', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16']);
      assert.deepEqual(sets.resolvers, [resolver]);
      assert.deepEqual(sets.allowed, []);
    } finally {
      await Promise.all([sbx.kill(), asked.kill()]);
    }
  });

  it('what SANDCASTLE_EGRESS_ALLOW_PRIVATE lists is reachable, and nothing else of the refused ranges', async () => {
    const server = await startServer({ SANDCASTLE_EGRESS_ALLOW_PRIVATE: '10.200.0.0/24, 169.254.77.1' });
    const sbx = await Sandbox.create();
    try {
      assert.equal(await reaches(sbx, '10.200.0.1'), true);
      assert.equal(await reaches(sbx, '169.254.77.1'), true);
      assert.equal(await reaches(sbx, '192.168.77.1'), false, 'a private range the setting does not list stays refused');
      // The user's rules still apply inside what the operator allows.
      await Sandbox.setNetwork(sbx.sandboxId, { denyOut: ['10.200.0.0/24'] });
      assert.equal(await reaches(sbx, '10.200.0.1'), false);
      assert.equal(await reaches(sbx, '169.254.77.1'), true);
      assert.deepEqual(installedSets(server).allowed?.sort(), ['10.200.0.0/24', '169.254.77.1']);
    } finally {
      await sbx.kill();
    }
  });

  it('refuses to start when an entry of SANDCASTLE_EGRESS_ALLOW_PRIVATE does not parse, naming it', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-test-'));
    try {
      await assert.rejects(
        startServerProcess({ dataDir, env: { SANDCASTLE_EGRESS_ALLOW_PRIVATE: '10.200.0.0/24,intranet.example' } }),
        /exited with 1 before listening:[^]*SANDCASTLE_EGRESS_ALLOW_PRIVATE entry "intranet\.example" is not an IPv4 address or CIDR/,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
