// The sandbox runs the single bundled file with no node_modules around it: build it into a
// temporary directory and check it starts fast and serves every surface.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { collect, repoRoot, startEnvd, type Envd } from './test-harness.js';

let outdir: string;
let bundle: string;
before(async () => {
  outdir = await mkdtemp(path.join(tmpdir(), 'envd-bundle-'));
  await promisify(execFile)(process.execPath, [path.join(repoRoot, 'scripts', 'bundle-sandbox.mjs'), outdir]);
  bundle = path.join(outdir, 'envd.mjs');
});
after(async () => {
  await rm(outdir, { recursive: true, force: true });
});

test('envd is one self-contained file', async () => {
  assert.ok((await readdir(outdir)).includes('envd.mjs'));
  const code = await readFile(bundle, 'utf8');
  const imports = [...code.matchAll(/from\s*"([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(imports.length > 0);
  for (const spec of imports) assert.match(spec, /^node:/, `only Node built-ins may stay external, found ${spec}`);
});

test('its memory addon loads into node and its trim() runs', async () => {
  const addon = { exports: {} as { trim?: () => boolean } };
  process.dlopen(addon, path.join(outdir, 'malloc-trim.node'));
  assert.equal(typeof addon.exports.trim!(), 'boolean');
});

test('it answers /health quickly after being spawned', async () => {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const t0 = performance.now();
  const child = spawn(process.execPath, [bundle], { env: { ENVD_HOST: '127.0.0.1', ENVD_PORT: String(port) }, stdio: 'ignore' });
  try {
    let ready = false;
    while (!ready && performance.now() - t0 < 5000) {
      ready = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status === 204, () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 2));
    }
    const elapsed = performance.now() - t0;
    assert.ok(ready, 'envd never became healthy');
    // Generous bound for a loaded test machine; the measured figure is typically ~80 ms.
    assert.ok(elapsed < 1500, `took ${elapsed.toFixed(0)} ms`);
  } finally {
    child.kill('SIGKILL');
  }
});

test('the bundled envd runs commands and serves files', async () => {
  let envd: Envd | undefined;
  try {
    envd = await startEnvd({ command: [process.execPath, bundle] });
    const r = await collect(envd.clients({ user: 'root' }).process.start({ process: { cmd: '/bin/echo', args: ['bundled'], envs: {} } }));
    assert.equal(r.stdout, 'bundled\n');
    const form = new FormData();
    form.append('file', new Blob(['via bundle']), 'b.txt');
    assert.equal((await envd.fetch('/files', { method: 'POST', body: form })).status, 200);
    assert.equal(await (await envd.fetch('/files?path=b.txt')).text(), 'via bundle');
  } finally {
    await envd?.stop();
  }
});

test('the bundled envd serves a command and files without loading Node\'s fetch (undici)', async () => {
  // Loading it costs every sandbox's first command about 17 ms of CPU (light-headers.ts). A
  // preloaded probe writes the built-in modules envd loaded when it gets SIGUSR2.
  const probe = path.join(outdir, 'loaded-modules-probe.mjs');
  const listed = path.join(outdir, 'loaded-modules.json');
  await writeFile(probe, `import { writeFileSync } from 'node:fs';\nprocess.on('SIGUSR2', () => writeFileSync(${JSON.stringify(listed)}, JSON.stringify(process.moduleLoadList)));\n`);
  let envd: Envd | undefined;
  try {
    envd = await startEnvd({ command: [process.execPath, '--import', probe, bundle] });
    const r = await collect(envd.clients({ user: 'root' }).process.start({ process: { cmd: '/bin/echo', args: ['ran'], envs: {} } }));
    assert.equal(r.stdout, 'ran\n');
    assert.equal((await envd.fetch('/files?path=missing.txt')).status, 404);
    envd.child.kill('SIGUSR2');
    let modules: string[] | undefined;
    for (let i = 0; i < 200 && !modules; i++) {
      modules = await readFile(listed, 'utf8').then((t) => JSON.parse(t) as string[], () => undefined);
      if (!modules) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(modules, 'the probe never wrote the loaded modules');
    assert.ok(modules.some((m) => m.includes('child_process')), 'the list is of the process that ran the command');
    assert.deepEqual(modules.filter((m) => m.includes('undici')), []);
  } finally {
    await envd?.stop();
  }
});
