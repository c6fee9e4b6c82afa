import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { startEnvd, userUid, type Envd } from '../test-harness.js';

let envd: Envd;
before(async () => {
  envd = await startEnvd();
});
after(async () => {
  await envd.stop();
});

function multipart(files: { filename: string; data: string | Uint8Array }[]): FormData {
  const form = new FormData();
  for (const f of files) form.append('file', new Blob([typeof f.data === 'string' ? f.data : new Uint8Array(f.data)]), f.filename);
  return form;
}

function sign(p: string, operation: 'read' | 'write', user: string, token: string, expiry?: number): string {
  const raw = [p, operation, user, token, ...(expiry === undefined ? [] : [String(expiry)])].join(':');
  return 'v1_' + createHash('sha256').update(raw).digest('base64').replace(/=+$/, '');
}

describe('POST /files', () => {
  test('multipart single file: parents created and owned by the user, JSON array reply', async () => {
    const dest = path.join(envd.dir, 'up', 'deep', 'a.txt');
    const res = await envd.fetch(`/files?path=${encodeURIComponent(dest)}`, { method: 'POST', body: multipart([{ filename: dest, data: 'hello' }]) });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), [{ name: 'a.txt', path: dest, type: 'file' }]);
    assert.equal(await readFile(dest, 'utf8'), 'hello');
    assert.equal((await stat(dest)).uid, userUid);
    assert.equal((await stat(path.dirname(dest))).uid, userUid);
    assert.equal((await stat(path.join(envd.dir, 'up'))).uid, userUid);
    assert.deepEqual((await readdir(path.dirname(dest))).sort(), ['a.txt'], 'no temporary file left behind');
  });

  test('multipart, several files named by their part filenames (relative = under home)', async () => {
    const abs = path.join(envd.dir, 'multi', 'one.txt');
    const res = await envd.fetch('/files', {
      method: 'POST',
      body: multipart([
        { filename: abs, data: '1' },
        { filename: 'rel/two.txt', data: '22' },
      ]),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), [
      { name: 'one.txt', path: abs, type: 'file' },
      { name: 'two.txt', path: path.join(envd.home, 'rel', 'two.txt'), type: 'file' },
    ]);
    assert.equal(await readFile(path.join(envd.home, 'rel', 'two.txt'), 'utf8'), '22');
  });

  test('overwriting keeps the permission bits; a directory destination is 400', async () => {
    const dest = path.join(envd.dir, 'script.sh');
    await writeFile(dest, 'old');
    await chmod(dest, 0o755);
    const res = await envd.fetch(`/files?path=${encodeURIComponent(dest)}`, { method: 'POST', body: multipart([{ filename: dest, data: 'new' }]) });
    assert.equal(res.status, 200);
    assert.equal(await readFile(dest, 'utf8'), 'new');
    assert.equal((await stat(dest)).mode & 0o777, 0o755);

    const dir = await envd.fetch(`/files?path=${encodeURIComponent(envd.dir)}`, { method: 'POST', body: multipart([{ filename: envd.dir, data: 'x' }]) });
    assert.equal(dir.status, 400);
    assert.equal((await dir.json()).code, 400);
  });

  test('octet-stream, plain and gzip-encoded', async () => {
    const dest = path.join(envd.dir, 'raw.bin');
    const plain = await envd.fetch(`/files?path=${encodeURIComponent(dest)}&username=root`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: Buffer.from([0, 1, 2, 255]),
    });
    assert.equal(plain.status, 200);
    assert.deepEqual(await plain.json(), [{ name: 'raw.bin', path: dest, type: 'file' }]);
    assert.deepEqual([...(await readFile(dest))], [0, 1, 2, 255]);
    assert.equal((await stat(dest)).uid, 0, 'written as root for username=root');

    const zipped = await envd.fetch(`/files?path=${encodeURIComponent(dest)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Encoding': 'gzip' },
      body: gzipSync('unzipped text'),
    });
    assert.equal(zipped.status, 200);
    assert.equal(await readFile(dest, 'utf8'), 'unzipped text');

    const noPath = await envd.fetch('/files', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: 'x' });
    assert.equal(noPath.status, 400);
  });

  test('a full disk is 507 JSON, leaves no partial file, and envd keeps serving', async (t) => {
    const small = path.join(envd.dir, 'small-disk');
    await mkdir(small);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small], { stdio: 'ignore' });
    } catch {
      return t.skip('cannot mount a tmpfs here (needs root)');
    }
    t.after(() => execFileSync('umount', [small]));
    const big = new Uint8Array(3 * 1024 * 1024).fill(7);
    const dest = path.join(small, 'too-big.bin');
    const viaForm = await envd.fetch(`/files?path=${encodeURIComponent(dest)}`, { method: 'POST', body: multipart([{ filename: dest, data: big }]) });
    assert.equal(viaForm.status, 507);
    assert.equal((await viaForm.json()).code, 507);
    const raw = await envd.fetch(`/files?path=${encodeURIComponent(dest)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: big,
    });
    assert.equal(raw.status, 507);
    assert.deepEqual(await readdir(small), []);
    const ok = await envd.fetch(`/files?path=${encodeURIComponent(path.join(small, 'fits.txt'))}`, { method: 'POST', body: multipart([{ filename: 'x', data: 'ok' }]) });
    assert.equal(ok.status, 200);
  });

  test('an upload cut off by the client leaves no file behind', async () => {
    const dir = path.join(envd.dir, 'aborted');
    await mkdir(dir);
    const dest = path.join(dir, 'partial.bin');
    const { port } = new URL(envd.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /files?path=${encodeURIComponent(dest)} HTTP/1.1\r\nHost: x\r\nX-Access-Token: ${envd.token}\r\n` +
        `Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n`,
    );
    socket.write(Buffer.alloc(100_000));
    await new Promise((r) => setTimeout(r, 200));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await readdir(dir), []);
    assert.equal((await envd.fetch('/health')).status, 204);
  });

  test('a large upload is streamed to disk intact', async () => {
    const big = Buffer.alloc(40 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    const dest = path.join(envd.dir, 'big.bin');
    const res = await envd.fetch(`/files?path=${encodeURIComponent(dest)}`, { method: 'POST', body: multipart([{ filename: dest, data: big }]) });
    assert.equal(res.status, 200);
    const written = await readFile(dest);
    assert.equal(written.length, big.length);
    assert.ok(written.equals(big));
  });
});

describe('GET /files', () => {
  test('streams the bytes with Content-Length; empty file has Content-Length 0', async () => {
    const file = path.join(envd.dir, 'get.txt');
    await writeFile(file, 'content here');
    const res = await envd.fetch(`/files?path=${encodeURIComponent(file)}`, { headers: { 'Accept-Encoding': 'identity' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.equal(res.headers.get('content-length'), '12');
    assert.equal(await res.text(), 'content here');

    await writeFile(path.join(envd.dir, 'empty'), '');
    const empty = await envd.fetch(`/files?path=${encodeURIComponent(path.join(envd.dir, 'empty'))}`);
    assert.equal(empty.headers.get('content-length'), '0');
    assert.equal(await empty.text(), '');
  });

  test('gzip when the client accepts it', async () => {
    const file = path.join(envd.dir, 'zip-me.txt');
    await writeFile(file, 'z'.repeat(100_000));
    const res = await envd.fetch(`/files?path=${encodeURIComponent(file)}`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.equal(await res.text(), 'z'.repeat(100_000)); // fetch decodes it
  });

  test('relative to home; 404 for missing, 400 for a directory, 401 for an unknown user', async () => {
    await writeFile(path.join(envd.home, 'mine.txt'), 'home file');
    assert.equal(await (await envd.fetch('/files?path=mine.txt')).text(), 'home file');

    const missing = await envd.fetch(`/files?path=${encodeURIComponent('/no/such/file')}`);
    assert.equal(missing.status, 404);
    const body = await missing.json();
    assert.equal(body.code, 404);
    assert.match(body.message, /\/no\/such\/file.*not found/);

    const dir = await envd.fetch(`/files?path=${encodeURIComponent(envd.dir)}`);
    assert.equal(dir.status, 400);

    const who = await envd.fetch('/files?path=mine.txt&username=ghost');
    assert.equal(who.status, 401);
    assert.match((await who.json()).message, /ghost/);
  });
});

describe('access to /files', () => {
  test('no or wrong token is 401 JSON', async () => {
    const file = path.join(envd.dir, 'secret.txt');
    await writeFile(file, 's');
    for (const token of [null, 'wrong']) {
      const res = await envd.fetch(`/files?path=${encodeURIComponent(file)}`, { token });
      assert.equal(res.status, 401);
      const body = await res.json();
      assert.equal(body.code, 401);
      assert.equal(typeof body.message, 'string');
    }
  });

  test('signed URLs: valid read and write work without the header; bad or expired ones are 401', async () => {
    const file = path.join(envd.dir, 'signed.txt');
    await writeFile(file, 'signed content');
    const q = (p: string, sig: string, extra = '') => `/files?path=${encodeURIComponent(p)}&signature=${encodeURIComponent(sig)}${extra}`;

    const ok = await envd.fetch(q(file, sign(file, 'read', '', envd.token)), { token: null });
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'signed content');

    const future = Math.floor(Date.now() / 1000) + 60;
    const withExpiry = await envd.fetch(q(file, sign(file, 'read', 'root', envd.token, future), `&username=root&signature_expiration=${future}`), { token: null });
    assert.equal(withExpiry.status, 200);

    const past = Math.floor(Date.now() / 1000) - 60;
    const expired = await envd.fetch(q(file, sign(file, 'read', '', envd.token, past), `&signature_expiration=${past}`), { token: null });
    assert.equal(expired.status, 401);

    const wrongOp = await envd.fetch(q(file, sign(file, 'write', '', envd.token)), { token: null });
    assert.equal(wrongOp.status, 401);

    const dest = path.join(envd.dir, 'signed-upload.txt');
    const upload = await envd.fetch(q(dest, sign(dest, 'write', '', envd.token)), {
      token: null,
      method: 'POST',
      body: multipart([{ filename: dest, data: 'via signed url' }]),
    });
    assert.equal(upload.status, 200);
    assert.equal(await readFile(dest, 'utf8'), 'via signed url');
  });
});

describe('core endpoints', () => {
  test('/health needs no token; /envs does', async () => {
    assert.equal((await envd.fetch('/health', { token: null })).status, 204);
    assert.equal((await envd.fetch('/envs', { token: null })).status, 401);
    assert.deepEqual(await (await envd.fetch('/envs')).json(), { GLOBAL_VAR: 'global' });
  });

  test('/init again needs the current token; it can hand over a new token and new env vars', async () => {
    const body = (token: string) => JSON.stringify({ accessToken: token, envVars: { ROTATED: '1' } });
    const denied = await envd.fetch('/init', { method: 'POST', token: 'not-it', body: body('stolen') });
    assert.equal(denied.status, 401);
    assert.equal((await denied.json()).code, 401);

    const next = `${envd.token}-next`;
    assert.equal((await envd.fetch('/init', { method: 'POST', body: body(next) })).status, 204);
    assert.equal((await envd.fetch('/envs')).status, 401, 'the old token is no longer accepted');
    assert.deepEqual(await (await envd.fetch('/envs', { token: next })).json(), { ROTATED: '1' });
    // Put the original token back for the other tests.
    const restore = JSON.stringify({ accessToken: envd.token, envVars: { GLOBAL_VAR: 'global' } });
    assert.equal((await envd.fetch('/init', { method: 'POST', token: next, body: restore })).status, 204);
  });

  test('unknown paths are 404', async () => {
    assert.equal((await envd.fetch('/no-such-endpoint')).status, 404);
  });

  test('directories made by an upload under a fresh tree belong to the user', async () => {
    const base = path.join(envd.dir, 'fresh');
    await mkdir(base);
    const dest = path.join(base, 'x', 'y.txt');
    const res = await envd.fetch(`/files?path=${encodeURIComponent(dest)}`, { method: 'POST', body: multipart([{ filename: dest, data: 'y' }]) });
    assert.equal(res.status, 200);
    assert.equal((await stat(path.join(base, 'x'))).uid, userUid);
    assert.equal((await stat(base)).uid, 0);
  });
});
