// Public URLs: `https://{port}-{id}.{domain}` (and http) reach that port inside the sandbox, with
// the server's local CA trusted through NODE_EXTRA_CA_CERTS, exactly as the README tells users.
// This is the one test file whose server binds 443 and 80.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Sandbox } from 'novita-sandbox';
import { dataFiles, installDir } from '../src/config.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Sandbox as E2bSandbox } from 'e2b';
import { runWithPublicUrlSettings, useTestServer } from './support/server-process.js';
import { sandboxAddress } from './support/sandbox-network.js';
import { haproxyPidOf } from './support/processes.js';
import { echoAfterUpgrade, firstStreamChunk, getWithHost, overOneConnection, sandboxServerCode, startSandboxServer } from './support/sandbox-web.js';
import { waitFor } from './support/wait-for.js';

const domain = 'sandcastle.localhost';
const server = useTestServer({ env: { SANDCASTLE_HTTPS_PORT: '443', SANDCASTLE_HTTP_PORT: '80' } }).current;
/** The local CA the server made, which clients trust through NODE_EXTRA_CA_CERTS. */
const caFile = () => path.join(dataFiles(server().dataDir).tls, 'ca.pem');

/** A plain-HTTP request to the public HTTP listener (port 80) with the given Host. */
const get = (host: string, urlPath = '/', headers: http.OutgoingHttpHeaders = {}, agent?: http.Agent | false) => getWithHost(80, host, urlPath, headers, agent);

const runAsUser = (file: string) => runWithPublicUrlSettings(server(), file, domain);

/** A command to the HAProxy data plane's runtime API. */
function haproxyCommand(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path.join(dataFiles(server().dataDir).dataPlane, 'admin.sock'), () => socket.end(`${command}\n`));
    let answer = '';
    socket.on('data', (b) => (answer += b));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

/** Sandbox ids in HAProxy's map of directly routed sandboxes. */
async function directlyRouted(): Promise<string[]> {
  const answer = await haproxyCommand(`show map ${path.join(dataFiles(server().dataDir).dataPlane, 'sandboxes.map')}`);
  return answer.split('\n').map((l) => l.split(' ')[1]).filter((id): id is string => !!id);
}

describe('public URLs of sandbox ports', () => {
  it('the server made a local CA and serves *.sandcastle.localhost over HTTPS on ::1 and 127.0.0.1', async () => {
    assert.ok(existsSync(caFile()));
    const sbx = await Sandbox.create();
    try {
      await startSandboxServer(sbx, 'tls');
      const host = `8000-${sbx.sandboxId}.${domain}`;
      for (const address of ['::1', '127.0.0.1']) {
        const body = await new Promise<string>((resolve, reject) => {
          https
            .get({ host: address, servername: host, port: 443, path: '/', headers: { host }, ca: readFileSync(caFile()) }, (res) => {
              let b = '';
              res.on('data', (c: Buffer) => (b += c));
              res.on('end', () => resolve(b));
            })
            .on('error', reject);
        });
        assert.equal(body, 'hello from tls\n', address);
      }
    } finally {
      await sbx.kill();
    }
  });

  it('"Internet access" page, public URL example: prints https://3000-<id>.sandcastle.localhost', async () => {
    const out = await runAsUser(path.join(installDir, 'test/product-examples/internet-access--1-sandbox-public-url.ts'));
    assert.match(out, new RegExp(`^https://3000-[a-z0-9]{20}\\.${domain.replace('.', '\\.')}\\n$`));
  });

  it('"Internet access" page, server example: fetches the directory listing from outside', async () => {
    const out = await runAsUser(path.join(installDir, 'test/product-examples/internet-access--2-connecting-to-a-server-running-inside-the-sandbox.ts'));
    assert.match(out, /Server started at: https:\/\/3000-[a-z0-9]{20}\.sandcastle\.localhost/);
    assert.match(out, /Response from server inside sandbox: <!DOCTYPE HTML>/);
    assert.match(out, /Directory listing for \//);
  });

  it('the whole SDK works with only NOVITA_API_URL, NOVITA_DOMAIN and NODE_EXTRA_CA_CERTS (envd over the public URL)', async () => {
    const file = path.join(installDir, 'test', 'support', 'sdk-over-public-url.ts');
    const out = await runAsUser(file);
    assert.equal(out, 'python3 -m http.server 3000: <!DOCTYPE HTML>\nread back: written over https\nrunning after kill: false\n');
  });

  it('the e2b SDK works with only E2B_DOMAIN, its key and NODE_EXTRA_CA_CERTS: api.{domain} is the control plane', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, E2B_DOMAIN: domain, E2B_API_KEY: server().apiKey, NODE_EXTRA_CA_CERTS: caFile() };
    for (const name of ['E2B_API_URL', 'E2B_SANDBOX_URL', 'E2B_VOLUME_API_URL', 'NOVITA_API_URL', 'NOVITA_SANDBOX_URL']) delete env[name];
    const file = path.join(installDir, 'test', 'support', 'sdk-with-domain-only.ts');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], { cwd: installDir, env, timeout: 120_000 });
    assert.equal(stdout, 'listed: true\nvolume inside: through api.<domain>\nrunning after kill: false\n');
  });

  it('answers clearly when nothing listens, the sandbox is unknown or killed, or the host is malformed', async () => {
    const sbx = await Sandbox.create();
    const id = sbx.sandboxId;
    try {
      const closed = await get(`9999-${id}.${domain}`);
      assert.equal(closed.status, 502);
      assert.deepEqual(JSON.parse(closed.body), {
        code: 502,
        message: `sandbox '${id}' is running but nothing answers on port 9999 (ECONNREFUSED)`,
        sandboxId: id,
        port: 9999,
      });
      const page = await get(`9999-${id}.${domain}`, '/', { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120' });
      assert.equal(page.status, 502);
      assert.match(page.type, /text\/html/);
      assert.match(page.body, new RegExp(`sandbox &#39;${id}&#39; is running but nothing answers on port 9999`));
    } finally {
      await sbx.kill();
    }
    // As the hosted product answers: 502, which the SDKs read as "not running".
    const killed = await get(`8000-${id}.${domain}`);
    assert.equal(killed.status, 502);
    assert.deepEqual(JSON.parse(killed.body), { code: 502, message: 'The sandbox was not found', sandboxId: id });
    const never = await get(`8000-nosuchsandbox.${domain}`);
    assert.equal(never.status, 502);
    assert.deepEqual(JSON.parse(never.body), { code: 502, message: 'The sandbox was not found', sandboxId: 'nosuchsandbox' });
    const page = await get(`8000-${id}.${domain}`, '/', { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120' });
    assert.equal(page.status, 502);
    assert.match(page.type, /text\/html/);
    assert.match(page.body, /The sandbox was not found/);
    for (const [host, message] of [
      [`www.${domain}`, /is not of the form <port>-<sandboxId>\.sandcastle\.localhost/],
      [`70000-${id}.${domain}`, /port 70000 is not a port number between 1 and 65535/],
      ['example.com', /host 'example\.com' is not of the form/],
    ] as const) {
      const r = await get(host);
      assert.equal(r.status, 400, host);
      assert.match(JSON.parse(r.body).message, message);
    }
  });

  it('a refused connection is closed as soon as the client is: a burst of bad requests holds no descriptors', async () => {
    const fds = () => readdirSync(`/proc/${server().child.pid}/fd`).length;
    const before = fds();
    const burst = 300;
    for (let i = 0; i < burst; i += 50) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => get(`www.${domain}`)));
      assert.ok(answers.every((a) => a.status === 400));
    }
    // Paused refused connections would hold one descriptor each until the 30 s head timeout.
    for (let i = 0; i < 100 && fds() > before + burst / 10; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(fds() <= before + burst / 10, `server holds ${fds() - before} more descriptors than before the burst`);
  });

  // A proxy that let the stalled upload block the others would hang here: the timeout fails it.
  it('streams, relays upgrades (WebSockets), routes by host on the API port too, and a stalled upload blocks no one', { timeout: 60_000 }, async () => {
    const [a, b] = await Promise.all([Sandbox.create(), Sandbox.create()]);
    try {
      await Promise.all([startSandboxServer(a, 'a'), startSandboxServer(b, 'b')]);
      const hostA = `8000-${a.sandboxId}.${domain}`;
      const hostB = `8000-${b.sandboxId}.${domain}`;
      // Once Node has routed a request to each, HAProxy relays all that follows.
      await Promise.all([get(hostA), get(hostB)]);
      assert.deepEqual((await directlyRouted()).filter((id) => id === a.sandboxId || id === b.sandboxId).sort(), [a.sandboxId, b.sandboxId].sort());

      // Streaming: the first chunk arrives before the last is written (a second later), not with it.
      const firstData = await firstStreamChunk(80, hostA);
      assert.match(firstData, /^chunk 0\n/);
      assert.doesNotMatch(firstData, /chunk 9/);

      // Upgrade: bytes after the 101 come back.
      const echoed = await echoAfterUpgrade(80, hostB);
      assert.match(echoed, /^HTTP\/1\.1 101 /);

      // The API port serves sandbox host names as well.
      const apiUrl = new URL(server().url);
      const body = await new Promise<string>((resolve, reject) => {
        http.get({ host: apiUrl.hostname, port: apiUrl.port, path: '/', headers: { host: hostA } }, (res) => {
          let t = '';
          res.on('data', (c: Buffer) => (t += c));
          res.on('end', () => resolve(t));
        }).on('error', reject);
      });
      assert.equal(body, 'hello from a\n');

      // A client that announces 10 MB and stalls after one byte holds only its own connection.
      const stalled = net.connect(80, '127.0.0.1', () => stalled.write(`POST /upload HTTP/1.1\r\nHost: ${hostA}\r\nContent-Length: 10000000\r\n\r\nx`));
      try {
        await new Promise((r) => setTimeout(r, 200));
        // Answered while the stalled upload still holds its connection.
        const [ra, rb] = await Promise.all([get(hostA), get(hostB)]);
        assert.equal(ra.body, 'hello from a\n');
        assert.equal(rb.body, 'hello from b\n');
        assert.equal(stalled.destroyed, false);
      } finally {
        stalled.destroy();
      }

      // Killing a sandbox cuts its connections; the proxy goes on serving the others.
      const open = net.connect(80, '127.0.0.1', () => open.write(`GET /stream HTTP/1.1\r\nHost: ${hostA}\r\n\r\n`));
      const cut = new Promise<void>((resolve) => open.once('close', () => resolve()));
      open.on('error', () => undefined);
      // Killed once the stream is flowing through the proxy.
      await new Promise((resolve) => open.once('data', resolve));
      open.resume();
      const addressA = sandboxAddress(a.sandboxId);
      await a.kill();
      await cut;
      assert.equal((await get(hostB)).body, 'hello from b\n');
      assert.doesNotMatch(await haproxyCommand('show sess all'), new RegExp(`addr=${addressA.replaceAll('.', '\\.')}:`), 'HAProxy holds no stream to the killed sandbox');
    } finally {
      await Promise.all([a.kill(), b.kill()]);
    }
  });

  it('HAProxy relays a sandbox once Node has routed it: each request of a kept-alive connection goes where its Host says, across pause and auto-resume', async () => {
    const [a, b] = await Promise.all([Sandbox.create({ lifecycle: { onTimeout: 'pause', autoResume: true } }), Sandbox.create()]);
    try {
      await Promise.all([startSandboxServer(a, 'a'), startSandboxServer(b, 'b')]);
      const hosts = [a, b, a, b].map((s) => `8000-${s.sandboxId}.${domain}`);
      // First through Node (which hands both to HAProxy), then straight from HAProxy.
      for (let round = 0; round < 2; round++) {
        const answers = await overOneConnection(hosts, 80);
        assert.deepEqual(answers.map((x) => x.body), ['hello from a\n', 'hello from b\n', 'hello from a\n', 'hello from b\n'], `round ${round}`);
        assert.equal(new Set(answers.map((x) => x.port)).size, 1, `round ${round}: one connection`);
        assert.deepEqual((await directlyRouted()).filter((id) => id === a.sandboxId || id === b.sandboxId).sort(), [a.sandboxId, b.sandboxId].sort());
      }
      // A pause takes the sandbox out of HAProxy's hands: the next request reaches Node, which
      // resumes it, and then HAProxy relays it again.
      await a.betaPause();
      assert.ok(!(await directlyRouted()).includes(a.sandboxId));
      assert.deepEqual((await overOneConnection(hosts, 80)).map((x) => x.body), ['hello from a\n', 'hello from b\n', 'hello from a\n', 'hello from b\n']);
      assert.ok((await directlyRouted()).includes(a.sandboxId));
    } finally {
      await Promise.all([a.kill(), b.kill()]);
    }
    assert.deepEqual((await directlyRouted()).filter((id) => id === a.sandboxId || id === b.sandboxId), [], 'killed sandboxes leave the map');
  });

  it('HAProxy holds the API port: requests the SDK headers name go straight to the sandbox, the server stopped or not, each where its header says', async () => {
    const [a, b] = await Promise.all([Sandbox.create(), Sandbox.create()]);
    const serverPid = server().child.pid!;
    try {
      // Their envd calls (E2B_SANDBOX_URL is the API port) went through Node, which handed both
      // sandboxes to HAProxy.
      await Promise.all([startSandboxServer(a, 'a'), startSandboxServer(b, 'b')]);
      assert.deepEqual((await directlyRouted()).filter((id) => id === a.sandboxId || id === b.sandboxId).sort(), [a.sandboxId, b.sandboxId].sort());
      const apiPort = Number(new URL(server().url).port);
      const named = [a, b, a, b].map((s, i) => (i % 2 ? { 'novita-sandbox-id': s.sandboxId, 'novita-sandbox-port': '8000' } : { 'e2b-sandbox-id': s.sandboxId, 'e2b-sandbox-port': '8000' }));
      process.kill(serverPid, 'SIGSTOP');
      let answers;
      try {
        answers = await overOneConnection(named, apiPort);
      } finally {
        process.kill(serverPid, 'SIGCONT');
      }
      assert.deepEqual(answers.map((x) => x.body), ['hello from a\n', 'hello from b\n', 'hello from a\n', 'hello from b\n']);
      assert.equal(new Set(answers.map((x) => x.port)).size, 1, 'one connection');
      // A port header that is no port is Node's to refuse, as without HAProxy.
      const bad = await fetch(server().url, { headers: { 'e2b-sandbox-id': a.sandboxId, 'e2b-sandbox-port': '80x' } });
      assert.equal(bad.status, 400);
      // A resume puts the sandbox back in HAProxy's hands at once.
      await a.betaPause();
      assert.ok(!(await directlyRouted()).includes(a.sandboxId));
      await a.connect();
      await waitFor('the resumed sandbox in the map', directlyRouted, (ids) => ids.includes(a.sandboxId), 5_000);
      assert.equal((await a.commands.run('echo resumed')).stdout, 'resumed\n');
    } finally {
      process.kill(serverPid, 'SIGCONT');
      await Promise.all([a.kill(), b.kill()]);
    }
  });

  it('a pause aborts every host connection to the sandbox, idle ones HAProxy keeps between requests included', async () => {
    const sbx = await Sandbox.create();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const host = `8000-${sbx.sandboxId}.${domain}`;
    const getKept = () =>
      new Promise<string>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: 80, path: '/', agent, headers: { host } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c));
          res.on('end', () => resolve(body));
        }).on('error', reject);
      });
    const established = async () => (await promisify(execFile)('ss', ['-tnH', 'state', 'established', 'dst', sandboxAddress(sbx.sandboxId)])).stdout.trim();
    try {
      await startSandboxServer(sbx, 'kept');
      // Through Node, then straight from HAProxy, which keeps its connection to the sandbox.
      assert.equal(await getKept(), 'hello from kept\n');
      assert.equal(await getKept(), 'hello from kept\n');
      assert.notEqual(await established(), '', 'HAProxy holds a kept-alive connection to the sandbox');
      await sbx.betaPause();
      await waitFor('no host connection to the paused sandbox', established, (lines) => lines === '', 5_000);
      await sbx.connect();
      assert.equal(await getKept(), 'hello from kept\n');
      assert.equal(await getKept(), 'hello from kept\n');
    } finally {
      agent.destroy();
      await sbx.kill();
    }
  });

  it('HAProxy killed: clients meanwhile wait, not refused, and the new one has the routes it had', async (t) => {
    const sbx = await Sandbox.create();
    try {
      await startSandboxServer(sbx, 'again');
      const host = `8000-${sbx.sandboxId}.${domain}`;
      assert.equal((await get(host)).body, 'hello from again\n');
      const pid = haproxyPidOf(server().dataDir);
      assert.ok(pid, 'the server runs HAProxy as its child');
      process.kill(pid, 'SIGKILL');
      const killedAt = Date.now();
      // Its descriptors are closed once it is a zombie or gone; the new one starts at least 50 ms
      // later, so the requests below come while no HAProxy accepts.
      const exited = () => {
        try {
          return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
        } catch {
          return true;
        }
      };
      while (!exited()) await new Promise((r) => setTimeout(r, 1));
      // This process's kept-alive connections to the old HAProxy were closed with it; 10 ms lets
      // the SDK's pool see that before it picks a connection (one turn of the event loop was not
      // always enough: a CI run got "fetch failed"). The new HAProxy starts 50 ms after the exit
      // at the earliest.
      await new Promise((r) => setTimeout(r, 10));
      // The server holds the listening sockets: a new public client and an SDK call on the API
      // port wait in the backlog for the new HAProxy instead of being refused.
      const [answer, listed] = await Promise.all([get(host, '/', {}, false), sbx.files.list('/tmp')]);
      t.diagnostic(`public URLs and the API port answered ${Date.now() - killedAt} ms after HAProxy was killed (target ≤ 1000 ms)`);
      assert.equal(answer.body, 'hello from again\n');
      assert.ok(Array.isArray(listed));
      assert.notEqual(haproxyPidOf(server().dataDir), pid);
      assert.ok((await directlyRouted()).includes(sbx.sandboxId), 'the new HAProxy has the map of the old one');
      const health = (await (await fetch(`${server().url}/health`)).json()) as { healthy: boolean; dataPlane: { healthy: boolean; pid: number } };
      assert.deepEqual(health.dataPlane, { healthy: true, pid: haproxyPidOf(server().dataDir) });
    } finally {
      await sbx.kill();
    }
  });

  it('a paused sandbox answers 502, and one with auto-resume is resumed by the request', async () => {
    const plain = await Sandbox.create();
    const auto = await Sandbox.create({ lifecycle: { onTimeout: 'pause', autoResume: true } });
    try {
      await Promise.all([startSandboxServer(plain, 'plain'), startSandboxServer(auto, 'auto')]);
      await Promise.all([plain.betaPause(), auto.betaPause()]);
      const paused = await get(`8000-${plain.sandboxId}.${domain}`);
      assert.equal(paused.status, 502);
      assert.match(JSON.parse(paused.body).message, /is paused/);
      const resumed = await get(`8000-${auto.sandboxId}.${domain}`);
      assert.equal(resumed.status, 200, resumed.body);
      assert.equal(resumed.body, 'hello from auto\n');
    } finally {
      await Promise.all([plain.kill(), auto.kill()]);
    }
  });

  it('allowPublicTraffic false: the e2b SDK gets a token, public URLs answer 403 without it, envd needs none; maskRequestHost', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, E2B_API_URL: server().url, E2B_DOMAIN: domain, E2B_API_KEY: server().apiKey, NODE_EXTRA_CA_CERTS: caFile() };
    for (const name of ['E2B_SANDBOX_URL', 'NOVITA_SANDBOX_URL', 'NOVITA_API_URL']) delete env[name];
    const file = path.join(installDir, 'test/support/traffic-token-over-public-url.ts');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], { cwd: installDir, env, timeout: 120_000 });
    const lines = stdout.trim().split('\n');
    assert.equal(lines[0], 'token: set', stdout);
    assert.match(lines[1]!, /^without: 403 \{"code":403,"message":"Sandbox is secured with traffic access token\. Token header 'e2b-traffic-access-token' is missing","sandboxId":"\w+"\}$/, stdout);
    assert.match(lines[2]!, /^wrong: 403 .*is invalid/, stdout);
    // The sandbox's server sees the masked Host and not the token.
    assert.equal(lines[3], 'right: 200 host localhost:8000 token none', stdout);
    assert.equal(lines[4], 'info: {"allowPublicTraffic":false,"maskRequestHost":"localhost:${PORT}"}', stdout);
    assert.equal(lines[5], 'connect keeps the token: true', stdout);
  });

  it('a restricted sandbox checks every request of a kept-alive connection, and its forks keep the policy', async () => {
    const sbx = await E2bSandbox.create({ network: { allowPublicTraffic: false } });
    try {
      await sbx.files.write('/tmp/server.js', sandboxServerCode);
      await sbx.commands.run('/opt/sandcastle/node /tmp/server.js', { background: true, envs: { NAME: 'restricted' } });
      for (let i = 0; i < 100 && !(await sbx.commands.run('curl -s localhost:8000/ || true')).stdout; i++) await new Promise((r) => setTimeout(r, 100));
      const host = `8000-${sbx.sandboxId}.${domain}`;
      const answers = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(80, '127.0.0.1');
        let got = '';
        socket.on('data', (b) => (got += b.toString('latin1')));
        socket.on('end', () => resolve(got));
        socket.on('error', reject);
        socket.write(`GET / HTTP/1.1\r\nHost: ${host}\r\ne2b-traffic-access-token: ${sbx.trafficAccessToken}\r\n\r\n`);
        socket.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      });
      const statuses = [...answers.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => m[1]);
      assert.deepEqual(statuses, ['200', '403'], answers);
      // An upgrade with the token is relayed (and echoes), one without it is refused.
      const upgrade = (token: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = net.connect(80, '127.0.0.1');
          let got = '';
          socket.on('data', (b) => {
            got += b.toString('latin1');
            if (got.includes('ping')) socket.end();
          });
          socket.on('close', () => resolve(got));
          socket.on('error', reject);
          socket.write(`GET /ws HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: echo\r\ne2b-traffic-access-token: ${token}\r\n\r\n`);
          setTimeout(() => socket.write('ping'), 200);
        });
      assert.match(await upgrade(sbx.trafficAccessToken!), /^HTTP\/1\.1 101[^]*ping$/);
      assert.match(await upgrade('wrong'), /^HTTP\/1\.1 403/);
      const [fork] = await E2bSandbox.fork(sbx.sandboxId, { count: 1 });
      assert.ok(fork instanceof E2bSandbox, String(fork));
      try {
        assert.ok(fork.trafficAccessToken && fork.trafficAccessToken !== sbx.trafficAccessToken);
        const forkHost = `8000-${fork.sandboxId}.${domain}`;
        assert.equal((await get(forkHost)).status, 403);
        const ok = await get(forkHost, '/', { 'e2b-traffic-access-token': fork.trafficAccessToken });
        assert.equal(`${ok.status} ${ok.body}`, '200 hello from restricted\n');
      } finally {
        await fork.kill();
      }
    } finally {
      await sbx.kill();
    }
  });
});
