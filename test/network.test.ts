// Each sandbox on its own network: egress to "the internet" (a namespace this test makes) when
// allowed, none when not, live rule updates, and no path to other sandboxes or to the host.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Sandbox } from 'novita-sandbox';
import { startFakeInternet, internetAddress, type FakeInternet } from './support/fake-internet.js';
import { apiFetch, useTestServer } from './support/server-process.js';
import { gatewayAddress, sandboxAddress } from './support/sandbox-network.js';
import { sandboxRules } from './support/sandbox-rules.js';

const server = useTestServer({ env: { SANDCASTLE_DNS_SERVERS: internetAddress } }).current;
let internet: FakeInternet;
let hostService: http.Server;
const internetUrl = `http://${internetAddress}:8080/`;

before(async () => {
  internet = await startFakeInternet();
  // A service on every host address, as a database or an agent on the host would be.
  hostService = http.createServer((_req, res) => res.end('host secret\n'));
  await new Promise<void>((r) => hostService.listen(0, '0.0.0.0', r));
});

after(async () => {
  await new Promise((r) => hostService.close(r));
  await internet.close();
});

/** Fetches `url` from inside the sandbox: the body, or the failure curl reports. */
async function fetchInside(sbx: Sandbox, url: string): Promise<{ ok: boolean; out: string }> {
  const r = await sbx.commands.run(`curl -sS -m 3 ${url}; echo " exit=$?"`);
  const out = (r.stdout + r.stderr).trim();
  return { ok: / exit=0$/.test(out), out };
}

async function putNetwork(id: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await apiFetch(server(), `/sandboxes/${id}/network`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

describe('sandbox networking', () => {
  it('reaches the internet by default, resolves names through its resolv.conf, and its rules go with it', async () => {
    const sbx = await Sandbox.create();
    const id = sbx.sandboxId;
    try {
      assert.deepEqual(await fetchInside(sbx, internetUrl), { ok: true, out: 'hello from the internet\n exit=0'.trim() });
      const resolv = await sbx.commands.run('cat /etc/resolv.conf');
      assert.match(resolv.stdout, new RegExp(`^nameserver ${internetAddress.replaceAll('.', '\\.')}$`, 'm'));
      assert.equal((await fetchInside(sbx, 'http://shop.example.test:8080/')).out, 'hello from the internet\n exit=0'.trim());
      assert.ok(sandboxRules(id).length > 0);
    } finally {
      await sbx.kill();
    }
    assert.deepEqual(sandboxRules(id), [], 'no nftables rule of a killed sandbox is left');
  });

  it('cannot reach other sandboxes, the host or the API port', async () => {
    const [a, b] = await Promise.all([Sandbox.create(), Sandbox.create()]);
    try {
      await b.commands.run('python3 -m http.server 8000 --bind 0.0.0.0', { background: true });
      const bAddress = sandboxAddress(b.sandboxId);
      const served = async () => (await b.commands.run('curl -s -o /dev/null -w "%{http_code}" localhost:8000; true')).stdout;
      for (let i = 0; i < 50 && (await served()) !== '200'; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await served(), '200', 'the server inside b answers locally');
      // The host can reach b (the proxy does), so b's server is really there.
      assert.equal((await fetch(`http://${bAddress}:8000/`)).status, 200);

      const apiPort = new URL(server().url).port;
      const hostPort = (hostService.address() as AddressInfo).port;
      const gateway = gatewayAddress(a.sandboxId);
      const hostEth = execFileSync('ip', ['-4', '-o', 'route', 'get', '1.1.1.1'], { encoding: 'utf8' }).match(/src (\S+)/)?.[1];
      const targets = [
        `http://${bAddress}:8000/`, // another sandbox
        `http://${gatewayAddress(b.sandboxId)}:${hostPort}/`, // the host through another sandbox's gateway
        `http://${gateway}:${hostPort}/`, // the host's service through a's own gateway
        `http://${gateway}:${apiPort}/v2/sandboxes`, // the API port
        ...(hostEth ? [`http://${hostEth}:${hostPort}/`] : []), // the host's own address
      ];
      for (const url of targets) {
        const r = await fetchInside(a, url);
        assert.equal(r.ok, false, `${url} must be unreachable from a sandbox: ${r.out}`);
      }
      // From the host, the same service answers: the rules, not a missing server, refused.
      assert.equal(await (await fetch(`http://127.0.0.1:${hostPort}/`)).text(), 'host secret\n');
    } finally {
      await Promise.all([a.kill(), b.kill()]);
    }
  });

  it('allowInternetAccess: false reaches nothing, unless allowOut names it', async () => {
    const closed = await Sandbox.create({ allowInternetAccess: false });
    const allowed = await Sandbox.create({ allowInternetAccess: false, network: { allowOut: [internetAddress] } });
    try {
      assert.equal((await fetchInside(closed, internetUrl)).ok, false);
      assert.equal((await fetchInside(allowed, internetUrl)).ok, true);
      const info = await Sandbox.getFullInfo(closed.sandboxId);
      assert.equal(info.allowInternetAccess, false);
    } finally {
      await Promise.all([closed.kill(), allowed.kill()]);
    }
  });

  it('denyOut on create, then live updates with Sandbox.setNetwork and PUT /network', async () => {
    const sbx = await Sandbox.create({ network: { denyOut: ['198.18.0.0/24'] } });
    try {
      assert.equal((await fetchInside(sbx, internetUrl)).ok, false);
      // Omitting both lists clears the rules.
      await Sandbox.setNetwork(sbx.sandboxId, {});
      assert.equal((await fetchInside(sbx, internetUrl)).ok, true);
      await Sandbox.setNetwork(sbx.sandboxId, { denyOut: ['0.0.0.0/0'] });
      assert.equal((await fetchInside(sbx, internetUrl)).ok, false);
      // allowOut wins over denyOut; a domain name is resolved when the rule is set, and naming
      // one lets DNS through to the sandbox's name servers.
      await Sandbox.setNetwork(sbx.sandboxId, { denyOut: ['0.0.0.0/0'], allowOut: ['www.fake.test'] });
      assert.equal((await fetchInside(sbx, 'http://www.fake.test:8080/')).ok, true);
    } finally {
      await sbx.kill();
    }
  });

  it('keeps the rules: get info shows them, and a clone gets them with its own network', async () => {
    const sbx = await Sandbox.create({ network: { denyOut: ['198.18.0.0/24'] } });
    let clone: Sandbox | undefined;
    try {
      const rulesOf = async (id: string) => {
        const network = (await Sandbox.getFullInfo(id)).network;
        return network && { allowOut: network.allowOut, denyOut: network.denyOut };
      };
      assert.deepEqual(await rulesOf(sbx.sandboxId), { allowOut: [], denyOut: ['198.18.0.0/24'] });
      clone = (await Sandbox.clone(sbx.sandboxId, { count: 1 })).sandboxes[0]!;
      assert.deepEqual(await rulesOf(clone.sandboxId), { allowOut: [], denyOut: ['198.18.0.0/24'] });
      assert.equal((await fetchInside(clone, internetUrl)).ok, false);
      await Sandbox.setNetwork(sbx.sandboxId, {});
      assert.equal(await rulesOf(sbx.sandboxId), undefined);
    } finally {
      await Promise.all([sbx.kill(), clone?.kill()]);
    }
  });

  it('rejects bad rules with a 400 naming the entry, and unknown sandboxes with a 404', async () => {
    const sbx = await Sandbox.create();
    try {
      for (const [body, message] of [
        [{ allowOut: ['not a host!'] }, /allowOut entry "not a host!" is not an IPv4 address, CIDR or domain name/],
        [{ denyOut: ['example.test'] }, /denyOut entry "example.test" is a domain name; domain names are only supported in allowOut/],
        [{ denyOut: ['10.0.0.0/33'] }, /prefix length outside 0–32/],
        [{ allowOut: ['2001:db8::1'] }, /is IPv6/],
        [{ allowOut: ['*.example.test'] }, /is a wildcard/],
        [{ allowOut: ['no-such-name.invalid'] }, /could not be resolved/],
        [{ allowOut: 'all' }, /allowOut/],
      ] as const) {
        const r = await putNetwork(sbx.sandboxId, body);
        assert.equal(r.status, 400, r.text);
        const json = JSON.parse(r.text) as { code: number; message: string };
        assert.equal(json.code, 400);
        assert.match(json.message, message);
      }
      // The sandbox keeps its open rules after the refused updates.
      assert.equal((await fetchInside(sbx, internetUrl)).ok, true);
      const created = await apiFetch(server(), `/sandboxes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ templateID: 'base', network: { denyOut: ['nope.test'] } }) });
      assert.equal(created.status, 400);
    } finally {
      await sbx.kill();
    }
    const missing = await putNetwork('nosuchsandbox', {});
    assert.equal(missing.status, 404);
    await assert.rejects(Sandbox.setNetwork('nosuchsandbox', {}), /not found/);
  });
});
