// The envd side of the current e2b SDK, unmodified: what a paused or killed sandbox's envd
// answers, file metadata, watch entries, signed file URLs and PTY resize.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { FileType, Sandbox, type FilesystemEvent } from 'e2b';
import { dataFiles, installDir } from '../src/config.js';
import { freePort } from './support/free-port.js';
import { useTestServer, type ServerProcess } from './support/server-process.js';

const domain = 'sandcastle.localhost';
/** The public HTTPS listener gets a free port (443 is one per machine), known before the server
 *  starts. */
const httpsPort = String(await freePort());
const testServer = useTestServer({ env: { SANDCASTLE_HTTPS_PORT: httpsPort } });

async function waitFor(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** envd's /health of a sandbox through the SDK-header route, as the SDK asks it. */
async function health(server: ServerProcess, sandboxId: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${server.url}/health`, { headers: { 'E2b-Sandbox-Id': sandboxId, 'E2b-Sandbox-Port': '49983' } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('a paused or killed sandbox', () => {
  it('is not running (502 from envd saying which), and connect resumes a paused one', async () => {
    const sbx = await Sandbox.create();
    try {
      await sbx.files.write('/home/user/kept.txt', 'kept');
      assert.equal(await sbx.isRunning(), true);
      assert.equal(await sbx.pause(), true);
      assert.equal(await sbx.isRunning(), false);
      const paused = await health(testServer.current(), sbx.sandboxId);
      assert.equal(paused.status, 502);
      assert.deepEqual(paused.body, {
        code: 502,
        message: `sandbox '${sbx.sandboxId}' is paused; connect to it (Sandbox.connect) to resume it`,
        sandboxId: sbx.sandboxId,
        port: 49983,
      });
      await assert.rejects(sbx.files.read('/home/user/kept.txt'), /paused/);

      const resumed = await Sandbox.connect(sbx.sandboxId);
      assert.equal(await resumed.isRunning(), true);
      assert.equal(await resumed.files.read('/home/user/kept.txt'), 'kept');
    } finally {
      await sbx.kill();
    }
    assert.equal(await sbx.isRunning(), false);
    const killed = await health(testServer.current(), sbx.sandboxId);
    assert.equal(killed.status, 502);
    assert.deepEqual(killed.body, { code: 502, message: 'The sandbox was not found', sandboxId: sbx.sandboxId });
    const never = await health(testServer.current(), 'nosuchsandbox');
    assert.deepEqual(never, { status: 502, body: { code: 502, message: 'The sandbox was not found', sandboxId: 'nosuchsandbox' } });
  });
});

describe('files', () => {
  it('keeps X-Metadata-* as user.e2b.* attributes, shown by getInfo, list and rename; an overwrite clears them', async () => {
    const sbx = await Sandbox.create();
    try {
      // fetch sends header names in lower case, so keys come back in lower case.
      const metadata = { author: 'mish', purpose: 'upload v2' };
      const info = await sbx.files.write('/home/user/docs/m.txt', 'with metadata', { metadata });
      assert.deepEqual(info.metadata, metadata);
      assert.deepEqual((await sbx.files.getInfo('/home/user/docs/m.txt')).metadata, metadata);
      const octet = await sbx.files.write('/home/user/docs/o.txt', 'octets', { metadata: { via: 'octet' }, useOctetStream: true });
      assert.deepEqual(octet.metadata, { via: 'octet' });
      const listed = await sbx.files.list('/home/user/docs');
      assert.deepEqual(listed.map((e) => [e.name, e.metadata]), [['m.txt', metadata], ['o.txt', { via: 'octet' }]]);
      const xattr = await sbx.commands.run(`python3 -c "import os; print(os.getxattr('/home/user/docs/m.txt', 'user.e2b.author').decode())"`);
      assert.equal(xattr.stdout, 'mish\n');

      assert.deepEqual((await sbx.files.rename('/home/user/docs/m.txt', '/home/user/docs/n.txt')).metadata, metadata);
      const plain = await sbx.files.write('/home/user/docs/n.txt', 'overwritten');
      assert.equal(plain.metadata, undefined);
      assert.equal((await sbx.files.getInfo('/home/user/docs/n.txt')).metadata, undefined);

      await sbx.commands.run(`python3 -c "import os; os.setxattr('/home/user/docs/n.txt', 'user.e2b.set', b'inside')"`);
      assert.deepEqual((await sbx.files.getInfo('/home/user/docs/n.txt')).metadata, { set: 'inside' });
    } finally {
      await sbx.kill();
    }
  });

  it('watchDir with includeEntry gives the entry with each event; remove of a missing path succeeds', async () => {
    const sbx = await Sandbox.create();
    try {
      await sbx.files.makeDir('/home/user/watched');
      const events: FilesystemEvent[] = [];
      const handle = await sbx.files.watchDir('/home/user/watched', (e) => void events.push(e), { includeEntry: true, allowNetworkMounts: true });
      await sbx.files.write('/home/user/watched/new.txt', 'twelve bytes', { metadata: { k: 'v' } });
      // The last event of the upload shows the whole file with its metadata.
      await waitFor('the complete entry', () => events.some((e) => e.entry?.size === 12 && e.entry.metadata !== undefined));
      assert.equal(events[0]!.type, 'create');
      const written = events.find((e) => e.entry?.size === 12 && e.entry.metadata !== undefined)!;
      assert.equal(written.name, 'new.txt');
      assert.equal(written.entry!.name, 'new.txt');
      assert.equal(written.entry!.type, FileType.FILE);
      assert.equal(written.entry!.path, '/home/user/watched/new.txt');
      assert.deepEqual(written.entry!.metadata, { k: 'v' });
      await sbx.files.remove('/home/user/watched/new.txt');
      await waitFor('the remove event', () => events.some((e) => e.type === 'remove'));
      assert.equal(events.find((e) => e.type === 'remove')!.entry, undefined);
      await handle.stop();

      await sbx.files.remove('/home/user/never-was');
      await sbx.files.remove('/home/user/watched');
      assert.equal(await sbx.files.exists('/home/user/watched'), false);
    } finally {
      await sbx.kill();
    }
  });
});

describe('signed file URLs', () => {
  it('download and upload with plain fetch through the public URL; forged, expired, other user or sandbox are 401', async () => {
    const server = testServer.current();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      E2B_API_URL: server.url,
      E2B_DOMAIN: `${domain}:${httpsPort}`,
      NODE_EXTRA_CA_CERTS: path.join(dataFiles(server.dataDir).tls, 'ca.pem'),
    };
    delete env.E2B_SANDBOX_URL;
    const file = path.join(installDir, 'test', 'support', 'signed-file-urls.ts');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], { cwd: installDir, env, timeout: 120_000 });
    const got = new Map(stdout.trim().split('\n').map((l) => {
      const { name, value } = JSON.parse(l) as { name: string; value: unknown };
      return [name, value];
    }));
    const url = new URL(got.get('url') as string);
    assert.match(url.host, new RegExp(`^49983-[a-z0-9]+\\.${domain.replace('.', '\\.')}:${httpsPort}$`));
    assert.deepEqual([...url.searchParams.keys()].sort(), ['path', 'signature', 'signature_expiration']);
    assert.match(url.searchParams.get('signature')!, /^v1_[A-Za-z0-9+/]{43}$/);
    assert.deepEqual(got.get('download'), { status: 200, body: 'hello world' });
    assert.deepEqual(got.get('download without expiry'), { status: 200, body: 'hello world' });
    assert.deepEqual(got.get('download as root'), { status: 200, body: 'root only' });
    const expired = { status: 401, body: JSON.stringify({ code: 401, message: 'signature is already expired' }) };
    assert.deepEqual(got.get('expired'), expired);
    assert.deepEqual(got.get('upload'), { status: 200, body: JSON.stringify([{ name: 'uploaded.txt', path: '/home/user/uploaded.txt', type: 'file' }]) });
    assert.equal(got.get('uploaded content'), 'sent by plain fetch');
    assert.deepEqual(got.get('upload expired'), expired);
    const invalid = { status: 401, body: JSON.stringify({ code: 401, message: 'invalid signature' }) };
    for (const name of ['forged', 'other user', 'other sandbox', 'extended expiry']) assert.deepEqual(got.get(name), invalid, name);
  });
});

describe('signed file URLs on the sandbox URL (E2B_SANDBOX_URL: the API port)', () => {
  it('name no sandbox, yet reach the one whose token signed them; forged or expired are 401', async () => {
    const a = await Sandbox.create();
    const b = await Sandbox.create();
    try {
      await a.files.write('hello.txt', 'hello from a');
      await b.files.write('hello.txt', 'hello from b');
      const url = await a.downloadUrl('hello.txt', { useSignatureExpiration: 10_000 });
      assert.ok(url.startsWith(`${testServer.current().url}/files?`), url);
      const get = async (u: string, init?: RequestInit) => {
        const res = await fetch(u, init);
        return { status: res.status, body: await res.text() };
      };
      assert.deepEqual(await get(url), { status: 200, body: 'hello from a' });
      assert.deepEqual(await get(await b.downloadUrl('hello.txt')), { status: 200, body: 'hello from b' });
      const form = new FormData();
      form.append('file', new Blob(['uploaded']), 'up.txt');
      const up = await get(await b.uploadUrl('up.txt'), { method: 'POST', body: form });
      assert.equal(up.status, 200, up.body);
      assert.equal(await b.files.read('up.txt'), 'uploaded');

      const forged = new URL(url);
      forged.searchParams.set('username', 'root');
      assert.deepEqual(await get(forged.toString()), { status: 401, body: JSON.stringify({ code: 401, message: 'invalid signature' }) });
      assert.deepEqual(await get(await a.downloadUrl('hello.txt', { useSignatureExpiration: -10_000 })), {
        status: 401,
        body: JSON.stringify({ code: 401, message: 'signature is already expired' }),
      });
    } finally {
      await Promise.all([a.kill(), b.kill()]);
    }
  });
});

describe('pty', () => {
  it('resize changes the terminal size the program sees', async () => {
    const sbx = await Sandbox.create();
    try {
      let out = '';
      const decoder = new TextDecoder();
      const pty = await sbx.pty.create({ cols: 80, rows: 24, onData: (d) => void (out += decoder.decode(d, { stream: true })) });
      await sbx.pty.sendInput(pty.pid, new TextEncoder().encode('stty size\n'));
      await waitFor('the first size', () => out.includes('24 80'));
      await sbx.pty.resize(pty.pid, { cols: 132, rows: 43 });
      await sbx.pty.sendInput(pty.pid, new TextEncoder().encode('stty size\n'));
      await waitFor('the new size', () => out.includes('43 132'));
      await pty.kill();
    } finally {
      await sbx.kill();
    }
  });
});
