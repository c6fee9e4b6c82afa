// Requests the SDKs never send, as the fuzz test (test/fuzz.test.ts) found them: each is the
// client's mistake and gets a 4xx (or invalid_argument), never a 500 or no answer at all.
import { Code, ConnectError } from '@connectrpc/connect';
import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEnvd, type Envd } from './test-harness.js';

let envd: Envd;
before(async () => {
  envd = await startEnvd();
});
after(async () => {
  await envd.stop();
});

const code = (expected: Code) => (err: ConnectError) => {
  assert.equal(err.code, expected, err.message);
  return true;
};

/** Waits for the answer, but not for ever: a request that is never answered fails here. */
const answered = () => ({ signal: AbortSignal.timeout(20_000) });

describe('paths no file can have', () => {
  test('a NUL byte is a bad request', async () => {
    const res = await envd.fetch(`/files?path=${encodeURIComponent(path.join(envd.dir, 'a\0b'))}`, answered());
    assert.equal(res.status, 400);
    assert.match((await res.json()).message, /NUL byte/);
    await assert.rejects(envd.filesystem.stat({ path: 'a\0b' }), code(Code.InvalidArgument));
    await assert.rejects(envd.filesystem.makeDir({ path: path.join(envd.dir, 'x\0') }), code(Code.InvalidArgument));
  });

  test('a name or path too long for the filesystem is a bad request', async () => {
    const longName = path.join(envd.dir, 'n'.repeat(300));
    const res = await envd.fetch(`/files?path=${encodeURIComponent(longName)}`, answered());
    assert.equal(res.status, 400);
    assert.match((await res.json()).message, /too long/);
    await assert.rejects(envd.filesystem.makeDir({ path: longName }), code(Code.InvalidArgument));
    await assert.rejects(envd.filesystem.listDir({ path: '/' + 'd/'.repeat(2100) }), code(Code.InvalidArgument));
  });

  test('moving a folder into itself is invalid_argument', async () => {
    const dir = path.join(envd.dir, 'into-itself');
    await mkdir(dir);
    await assert.rejects(envd.filesystem.move({ source: dir, destination: path.join(dir, 'sub') }), code(Code.InvalidArgument));
  });
});

describe('uploads that are not what they say', () => {
  const dest = () => path.join(envd.dir, 'uploads', 'u.bin');

  test('multipart without a boundary, or not form-data, is a bad request', async () => {
    for (const type of ['multipart/form-data', 'multipart/mixed; boundary=x']) {
      const res = await envd.fetch(`/files?path=${encodeURIComponent(dest())}`, { method: 'POST', headers: { 'Content-Type': type }, body: '--x\r\n', ...answered() });
      assert.equal(res.status, 400, type);
      assert.match((await res.json()).message, /malformed multipart request/);
    }
  });

  test('a body sent as gzip that is not gzip is a bad request, and no temporary file stays', async () => {
    const res = await envd.fetch(`/files?path=${encodeURIComponent(dest())}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Encoding': 'gzip' },
      body: 'certainly not gzip',
      ...answered(),
    });
    assert.equal(res.status, 400);
    assert.match((await res.json()).message, /not valid gzip/);
    assert.deepEqual(await readdir(path.dirname(dest())), []);
  });
});

describe('Connect bodies that are not protobuf', () => {
  test('a unary call with a binary body that does not decode is invalid_argument (400)', async () => {
    const res = await envd.fetch('/filesystem.Filesystem/Stat', {
      method: 'POST',
      headers: { 'Content-Type': 'application/proto', 'Connect-Protocol-Version': '1' },
      body: new Uint8Array([0x0f, 0xff, 0xff]),
      ...answered(),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { code: string; message: string };
    assert.equal(body.code, 'invalid_argument');
    assert.match(body.message, /^parse binary:/);
  });

  test('a binary body that decodes is served as before', async () => {
    // Field 1 (path), length 1, "/".
    const res = await envd.fetch('/filesystem.Filesystem/Stat', {
      method: 'POST',
      headers: { 'Content-Type': 'application/proto', 'Connect-Protocol-Version': '1' },
      body: new Uint8Array([0x0a, 0x01, 0x2f]),
      ...answered(),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/proto');
    await res.arrayBuffer();
  });
});

describe('answers given before the body is read', () => {
  test('a connection that must close reads the rest of the body first (no reset), as a proxy in front needs', async () => {
    const { hostname, port } = new URL(envd.url);
    const body = Buffer.alloc(8 * 1024 * 1024, 0x61);
    const head = `POST /process.Process/Connect HTTP/1.0\r\nHost: envd\r\nX-Access-Token: ${envd.token}\r\nContent-Type: application/json\r\nConnect-Protocol-Version: 1\r\nContent-Length: ${body.length}\r\n\r\n`;
    const outcome = await new Promise<{ answer: string; error?: string }>((resolve) => {
      let answer = '';
      const socket = net.connect(Number(port), hostname, () => socket.end(Buffer.concat([Buffer.from(head), body])));
      socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
      socket.on('error', (err: NodeJS.ErrnoException) => resolve({ answer, error: err.code }));
      socket.on('close', () => resolve({ answer }));
      socket.setTimeout(20_000, () => socket.destroy(new Error('no close in 20 s')));
    });
    // Answered at once (the content type is wrong for a streaming call), and closed with a FIN.
    assert.match(outcome.answer, /^HTTP\/1\.1 415 /);
    assert.equal(outcome.error, undefined);
  });
});
