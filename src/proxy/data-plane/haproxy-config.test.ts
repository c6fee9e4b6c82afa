import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { dataPlanePaths } from './haproxy-data-plane.js';
import { haproxyConfig, haproxyMap, haproxyThreads, type DataPlanePaths } from './haproxy-config.js';

const run = promisify(execFile);

/** Writes the configuration `make` gives for a data-plane folder with a map of `entries`, and
 *  checks it (`check`) and has HAProxy check it. */
async function checkConfig(entries: Array<[string, string]>, make: (paths: DataPlanePaths) => string, check: (text: string, paths: DataPlanePaths) => void) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sc-haproxy-config-'));
  try {
    const paths = dataPlanePaths(dir);
    await writeFile(paths.map, haproxyMap(entries));
    const text = make(paths);
    check(text, paths);
    const configFile = path.join(dir, 'haproxy.cfg');
    await writeFile(configFile, text);
    const { stdout } = await run('haproxy', ['-c', '-f', configFile]);
    assert.match(stdout, /Configuration file is valid/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

it('writes a configuration HAProxy accepts, binding each public address and routing by Host', async () => {
  const binds = [
    { host: '::1', port: 8443, tls: false },
    { host: '127.0.0.1', port: 8080, tls: false },
  ];
  await checkConfig([['abc', '10.77.0.2']], (paths) => haproxyConfig({ domain: 'sandcastle.localhost', binds, paths, threads: 1 }), (text) => {
    assert.match(text, /nbthread 1\n/);
    assert.match(text, /bind \[::1\]:8443\n/);
    assert.match(text, /bind 127\.0\.0\.1:8080\n/);
    // The domain's dots are escaped: `xsandcastle.localhost` is no sandbox host.
    assert.match(text, /\\\.sandcastle\\\.localhost\$/);
  });
});

it('holds the API port when asked: SDK headers name the sandbox before the Host does', async () => {
  // No public listener: HAProxy holds the API port alone.
  const make = (paths: DataPlanePaths) => haproxyConfig({ domain: 'sandcastle.localhost', binds: [], api: { host: '::', port: 3000 }, paths, threads: 1 });
  await checkConfig([], make, (text, paths) => {
    assert.doesNotMatch(text, /frontend public/);
    const api = text.slice(text.indexOf('frontend api'), text.indexOf('backend traffic'));
    assert.match(api, /bind \[::\]:3000 v4v6\n/);
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
