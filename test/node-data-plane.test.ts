// The `node` data plane (SANDCASTLE_DATA_PLANE=node): no HAProxy; the server relays public URLs
// and the SDK's calls on the API port itself. The routing rules are the HAProxy data plane's
// (public-url.test.ts); here each is checked once through Node.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Sandbox } from 'novita-sandbox';
import { dataFiles } from '../src/config.js';
import { freePort } from './support/free-port.js';
import { haproxyPidOf } from './support/processes.js';
import { echoAfterUpgrade, firstStreamChunk, getWithHost, overOneConnection, startSandboxServer } from './support/sandbox-web.js';
import { useTestServer } from './support/server-process.js';

const domain = 'sandcastle.localhost';
const httpPort = await freePort();
const httpsPort = await freePort();
const server = useTestServer({ env: { SANDCASTLE_DATA_PLANE: 'node', SANDCASTLE_HTTP_PORT: String(httpPort), SANDCASTLE_HTTPS_PORT: String(httpsPort) } }).current;

/** GETs `/` of each host in turn over one kept-alive HTTPS connection, trusting the server's CA
 *  (the agent keeps a connection per server name: the first host's, the wildcard covers all). */
async function overOneTlsConnection(hosts: string[]): Promise<Array<{ body: string; port: number }>> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(path.join(dataFiles(server().dataDir).tls, 'ca.pem')) });
  try {
    const answers: Array<{ body: string; port: number }> = [];
    for (const host of hosts) {
      answers.push(
        await new Promise((resolve, reject) => {
          https
            .get({ host: '127.0.0.1', servername: hosts[0], port: httpsPort, path: '/', agent, headers: { host } }, (res) => {
              const port = res.socket.localPort!;
              let body = '';
              res.on('data', (c: Buffer) => (body += c));
              res.on('end', () => resolve({ body, port }));
            })
            .on('error', reject);
        }),
      );
    }
    return answers;
  } finally {
    agent.destroy();
  }
}

describe('the node data plane', () => {
  it('runs no HAProxy; each request of a kept-alive connection goes where its Host or SDK headers say, on the public ports and the API port; streams and upgrades pass', async () => {
    assert.equal(haproxyPidOf(server().dataDir), undefined);
    const health = (await (await fetch(`${server().url}/health`)).json()) as { dataPlane?: unknown };
    assert.equal(health.dataPlane, undefined, 'no data plane process to report on');
    const [a, b] = await Promise.all([Sandbox.create(), Sandbox.create()]);
    try {
      // Their envd calls went through the API port, relayed by Node.
      await Promise.all([startSandboxServer(a, 'a'), startSandboxServer(b, 'b')]);
      const hosts = [a, b, a, b].map((s) => `8000-${s.sandboxId}.${domain}`);
      const expected = ['hello from a\n', 'hello from b\n', 'hello from a\n', 'hello from b\n'];
      const apiPort = Number(new URL(server().url).port);
      const named = [a, b, a, b].map((s) => ({ 'e2b-sandbox-id': s.sandboxId, 'e2b-sandbox-port': '8000' }));
      for (const [answers, where] of [
        [await overOneConnection(hosts, httpPort), 'public port by Host'],
        [await overOneTlsConnection(hosts), 'public HTTPS port by Host'],
        [await overOneConnection(hosts, apiPort), 'API port by Host'],
        [await overOneConnection(named, apiPort), 'API port by SDK headers'],
      ] as const) {
        assert.deepEqual(answers.map((x) => x.body), expected, where);
        assert.equal(new Set(answers.map((x) => x.port)).size, 1, `${where}: one connection`);
      }
      // A client (a reverse proxy in front) may also send the console's and the API's requests
      // on the same connection before and after.
      const mixed = await overOneConnection([domain, hosts[0]!, `api.${domain}`, hosts[1]!], httpPort);
      assert.deepEqual([mixed[1]!.body, mixed[3]!.body], ['hello from a\n', 'hello from b\n']);
      assert.equal(new Set(mixed.map((x) => x.port)).size, 1, 'mixed hosts: one connection');
      // Parsed request by request, a stream still arrives chunk by chunk, and an upgrade relays.
      const first = await firstStreamChunk(httpPort, hosts[0]!);
      assert.match(first, /^chunk 0\n/);
      assert.doesNotMatch(first, /chunk 9/);
      assert.match(await echoAfterUpgrade(httpPort, hosts[1]!), /^HTTP\/1\.1 101 [^]*ping$/);
    } finally {
      await Promise.all([a.kill(), b.kill()]);
    }
  });

  it('answers a paused sandbox with 502, resumes one with auto-resume, and words an unknown or killed one', async () => {
    const [plain, auto] = await Promise.all([Sandbox.create(), Sandbox.create({ lifecycle: { onTimeout: 'pause', autoResume: true } })]);
    try {
      await Promise.all([startSandboxServer(plain, 'plain'), startSandboxServer(auto, 'auto')]);
      await Promise.all([plain.betaPause(), auto.betaPause()]);
      const paused = await getWithHost(httpPort, `8000-${plain.sandboxId}.${domain}`);
      assert.equal(paused.status, 502);
      assert.match(JSON.parse(paused.body).message, /is paused/);
      const resumed = await getWithHost(httpPort, `8000-${auto.sandboxId}.${domain}`);
      assert.equal(resumed.status, 200, resumed.body);
      assert.equal(resumed.body, 'hello from auto\n');
    } finally {
      await Promise.all([plain.kill(), auto.kill()]);
    }
    const killed = await getWithHost(httpPort, `8000-${plain.sandboxId}.${domain}`);
    assert.equal(killed.status, 502);
    assert.deepEqual(JSON.parse(killed.body), { code: 502, message: 'The sandbox was not found', sandboxId: plain.sandboxId });
  });
});
