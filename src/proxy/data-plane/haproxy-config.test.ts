import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { dataPlanePaths } from './haproxy-data-plane.js';
import { haproxyConfig, haproxyMap, haproxyThreads, type DataPlanePaths } from './haproxy-config.js';
import { holdSocket } from './held-socket.js';

/** Writes the configuration `make` gives for a data-plane folder with a map of `entries`, and
 *  checks it (`check`) and has HAProxy check it, with `sockets` loopback sockets held for it to
 *  inherit as descriptors 3, 4, … (it checks that they are sockets). */
async function checkConfig(entries: Array<[string, string]>, sockets: number, make: (paths: DataPlanePaths) => string, check: (text: string, paths: DataPlanePaths) => void) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sc-haproxy-config-'));
  const held = await Promise.all(Array.from({ length: sockets }, () => holdSocket('127.0.0.1', 0)));
  try {
    const paths = dataPlanePaths(dir);
    await writeFile(paths.map, haproxyMap(entries));
    const text = make(paths);
    check(text, paths);
    const configFile = path.join(dir, 'haproxy.cfg');
    await writeFile(configFile, text);
    const child = spawn('haproxy', ['-c', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe', ...held.map((s) => s.fd)] });
    let output = '';
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, output);
    assert.match(output, /Configuration file is valid/);
  } finally {
    for (const s of held) s.close();
    await rm(dir, { recursive: true, force: true });
  }
}

it('writes a configuration HAProxy accepts, serving each inherited public socket and routing by Host', async () => {
  const binds = [
    { fd: 3, tls: false },
    { fd: 4, tls: false },
  ];
  await checkConfig([['abc', '10.77.0.2']], 2, (paths) => haproxyConfig({ domain: 'sandcastle.localhost', binds, paths, threads: 1 }), (text) => {
    assert.match(text, /nbthread 1\n/);
    assert.match(text, /frontend public\n  bind fd@3\n  bind fd@4\n/);
    // The domain's dots are escaped: `xsandcastle.localhost` is no sandbox host.
    assert.match(text, /\\\.sandcastle\\\.localhost\$/);
  });
});

it('holds the API port when asked: SDK headers name the sandbox before the Host does', async () => {
  // No public listener: HAProxy holds the API port alone.
  const make = (paths: DataPlanePaths) => haproxyConfig({ domain: 'sandcastle.localhost', binds: [], api: { fd: 3 }, paths, threads: 1 });
  await checkConfig([], 1, make, (text, paths) => {
    assert.doesNotMatch(text, /frontend public/);
    const api = text.slice(text.indexOf('frontend api'), text.indexOf('backend traffic'));
    assert.match(api, /bind fd@3\n/);
    // Novita's header wins over E2B's: its rule comes last.
    assert.ok(api.indexOf('req.hdr(novita-sandbox-id,1)') > api.indexOf('req.hdr(e2b-sandbox-id,1)'));
    assert.match(api, /int\(49983\)/);
    // The Host is read only when no header named the sandbox.
    assert.match(api, /set-var\(txn\.sid\) var\(txn\.host\).* if sandbox_host !named\n/);
    assert.match(api, /default_backend node_api\n/);
    // A call cut in flight is answered in the server's JSON error format, its sandbox named.
    assert.match(text, /http-error status 502 content-type application\/json lf-string "\{\\"code\\":502,\\"message\\":\\"sandbox '%\[var\(txn\.sid\)\]' is paused or killed/);
    assert.match(text, new RegExp(`server node unix@${paths.node.api.replace(/[.]/g, '\\.')}\n`));
  });
});

it('writes one map line per routable sandbox', () => {
  assert.equal(haproxyMap(new Map([['a1', '10.77.0.2'], ['b2', '10.77.0.3']])), 'a1 10.77.0.2\nb2 10.77.0.3\n');
});

it('gives HAProxy a quarter of the cores, at least one thread', () => {
  assert.deepEqual([1, 2, 4, 8, 16].map(haproxyThreads), [1, 1, 1, 2, 4]);
});
