// envd driven by the real, unmodified SDKs: a tiny fake control plane on loopback answers the
// create call with envd's token, and `sandboxUrl` points the SDK's envd layer straight at envd.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Sandbox as E2bSandbox } from 'e2b';
import { CommandExitError, FileNotFoundError, Sandbox } from 'novita-sandbox';
import { envdVersion } from '../protocol.js';
import { startEnvd, userUid, type Envd } from './test-harness.js';

let envd: Envd;
let api: Server;
let apiUrl: string;
const seen: string[] = [];

before(async () => {
  envd = await startEnvd();
  api = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    if (req.method === 'POST' && (req.url === '/sandboxes' || req.url === '/v2/sandboxes')) {
      res.writeHead(201, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          sandboxID: 't1',
          templateID: 'base',
          clientID: 'local',
          envdVersion,
          envdAccessToken: envd.token,
          trafficAccessToken: null,
          domain: null,
        }),
      );
    } else {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ code: 404, message: 'not found' }));
    }
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const address = api.address();
  apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

after(async () => {
  await new Promise((resolve) => api.close(resolve));
  await envd.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('novita-sandbox', () => {
  let sbx: Sandbox;
  before(async () => {
    sbx = await Sandbox.create('base', { apiUrl, sandboxUrl: envd.url, apiKey: 'test-key' });
  });

  test('create went to the fake API; the sandbox is running', async () => {
    assert.ok(seen.includes('POST /sandboxes'));
    assert.equal(sbx.sandboxId, 't1');
    assert.equal(await sbx.isRunning(), true);
  });

  test('commands.run: output, envs, cwd, user; a failing command throws CommandExitError', async () => {
    const r = await sbx.commands.run('echo "hi $FOO $GLOBAL_VAR"; pwd; id -u', { envs: { FOO: 'bar' } });
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, `hi bar global\n${envd.home}\n${userUid}\n`);
    const asRoot = await sbx.commands.run('id -un; pwd', { user: 'root', cwd: '/tmp' });
    assert.equal(asRoot.stdout, 'root\n/tmp\n');
    await assert.rejects(sbx.commands.run('echo oops >&2; exit 7'), (err: unknown) => {
      assert.ok(err instanceof CommandExitError);
      assert.equal(err.exitCode, 7);
      assert.equal(err.stderr, 'oops\n');
      assert.equal(err.error, 'exit status 7');
      return true;
    });
  });

  test('streaming callbacks get output as it comes', async () => {
    const chunks: string[] = [];
    await sbx.commands.run('for i in 1 2 3; do echo line$i; sleep 0.1; done', { onStdout: (d) => void chunks.push(d) });
    assert.ok(chunks.length >= 3, `got ${chunks.length} chunks`);
    assert.equal(chunks.join(''), 'line1\nline2\nline3\n');
  });

  test('background command with stdin, list, connect, kill', async () => {
    const handle = await sbx.commands.run('cat', { background: true, stdin: true });
    assert.ok((await sbx.commands.list()).some((p) => p.pid === handle.pid));
    await sbx.commands.sendStdin(handle.pid, 'piped in\n');
    await sbx.commands.closeStdin(handle.pid);
    const done = await handle.wait();
    assert.equal(done.stdout, 'piped in\n');

    const sleeper = await sbx.commands.run('sleep 30', { background: true });
    await sleeper.disconnect();
    await sleep(100);
    const again = await sbx.commands.connect(sleeper.pid);
    assert.equal(await sbx.commands.kill(sleeper.pid), true);
    await assert.rejects(again.wait(), (err: unknown) => err instanceof CommandExitError && err.error === 'signal: killed');
    assert.equal(await sbx.commands.kill(sleeper.pid), false, 'killing an unknown pid answers false');
  });

  test('files: write, read, list, exists, getInfo, makeDir, rename, remove', async () => {
    const info = await sbx.files.write('notes/a.txt', 'alpha');
    assert.deepEqual(info, { name: 'a.txt', path: path.join(envd.home, 'notes', 'a.txt'), type: 'file' });
    assert.equal((await stat(info.path)).uid, userUid);
    assert.equal(await sbx.files.read('notes/a.txt'), 'alpha');
    assert.deepEqual([...(await sbx.files.read(info.path, { format: 'bytes' }))], [...Buffer.from('alpha')]);
    await writeFile(path.join(envd.home, 'empty.txt'), '');
    assert.equal(await sbx.files.read('empty.txt'), '');

    const many = await sbx.files.write([
      { path: path.join(envd.home, 'notes', 'b.txt'), data: 'bravo' },
      { path: path.join(envd.home, 'notes', 'c.bin'), data: new Uint8Array([1, 2, 3]).buffer },
    ]);
    assert.equal(many.length, 2);

    const list = await sbx.files.list('notes');
    assert.deepEqual(list.map((e) => [e.name, e.type, e.size]).sort(), [
      ['a.txt', 'file', 5],
      ['b.txt', 'file', 5],
      ['c.bin', 'file', 3],
    ]);
    assert.equal(list[0]!.owner, 'user');
    assert.ok(list[0]!.modifiedTime instanceof Date);

    assert.equal(await sbx.files.exists('notes/a.txt'), true);
    assert.equal(await sbx.files.exists('notes/zzz'), false);
    const dirInfo = await sbx.files.getInfo('notes');
    assert.equal(dirInfo.type, 'dir');
    assert.equal(await sbx.files.makeDir('notes/sub'), true);
    assert.equal(await sbx.files.makeDir('notes/sub'), false);
    const moved = await sbx.files.rename('notes/a.txt', 'notes/sub/a2.txt');
    assert.equal(moved.path, path.join(envd.home, 'notes', 'sub', 'a2.txt'));
    await sbx.files.remove('notes/sub');
    assert.equal(await sbx.files.exists('notes/sub'), false);
    await assert.rejects(sbx.files.read('notes/missing.txt'), (err: unknown) => err instanceof FileNotFoundError);
  });

  test('signed upload and download URLs', async () => {
    const target = path.join(envd.home, 'signed.txt');
    const up = await sbx.uploadUrl(target, { useSignatureExpiration: 60 });
    const form = new FormData();
    form.append('file', new Blob(['signed!']), target);
    assert.equal((await fetch(up, { method: 'POST', body: form })).status, 200);
    assert.equal(await readFile(target, 'utf8'), 'signed!');
    const down = await sbx.downloadUrl(target);
    assert.equal(await (await fetch(down)).text(), 'signed!');
  });

  test('watchDir reports new files', async () => {
    await sbx.files.makeDir('watched');
    const events: string[] = [];
    const handle = await sbx.files.watchDir('watched', (e) => void events.push(`${e.type} ${e.name}`));
    await sbx.files.write('watched/new.txt', 'x');
    for (let i = 0; i < 40 && !events.includes('write new.txt'); i++) await sleep(50);
    await sleep(100);
    await handle.stop();
    // An upload looks like the real envd's in-place write: no temporary names leak out.
    assert.deepEqual([...new Set(events)], ['create new.txt', 'write new.txt']);
  });

  test('pty: create, type, resize, kill', async () => {
    let screen = '';
    const terminal = await sbx.pty.create({ cols: 100, rows: 30, onData: (d) => void (screen += Buffer.from(d).toString()) });
    await sbx.pty.sendInput(terminal.pid, new TextEncoder().encode('stty size; echo "sum=$((40+2))"\n'));
    for (let i = 0; i < 60 && !/sum=42/.test(screen); i++) await sleep(50);
    assert.match(screen, /30 100/);
    assert.match(screen, /sum=42/);
    await sbx.pty.resize(terminal.pid, { cols: 50, rows: 20 });
    await sbx.pty.sendInput(terminal.pid, new TextEncoder().encode('stty size\n'));
    for (let i = 0; i < 60 && !/20 50/.test(screen); i++) await sleep(50);
    assert.match(screen, /20 50/);
    assert.equal(await sbx.pty.kill(terminal.pid), true);
    const end = await terminal.wait().catch((err: unknown) => err);
    assert.ok(end instanceof CommandExitError);
    assert.equal(end.exitCode, -1);
  });
});

describe('e2b', () => {
  test('commands and files work the same through the e2b SDK', async () => {
    const sbx = await E2bSandbox.create('base', { apiUrl, sandboxUrl: envd.url, apiKey: 'e2b_test' });
    const r = await sbx.commands.run('echo e2b-ok; whoami 2>/dev/null || id -u');
    assert.match(r.stdout, /^e2b-ok\n/);
    await sbx.files.write('e2b/x.txt', 'from e2b');
    assert.equal(await sbx.files.read('e2b/x.txt'), 'from e2b');
    const entries = await sbx.files.list('e2b');
    assert.deepEqual(entries.map((e) => e.name), ['x.txt']);
  });
});
