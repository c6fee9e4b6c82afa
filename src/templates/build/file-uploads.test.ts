import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { SandcastleError } from '../../errors.js';
import { FileUploads, uploadUrlTtlMs } from './file-uploads.js';

const hash = 'a'.repeat(64);
let dir: string;
let uploads: FileUploads;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-uploads-'));
  uploads = new FileUploads(dir, 1000);
});
after(() => rm(dir, { recursive: true, force: true }));

function query(signedPath: string) {
  return Object.fromEntries(new URL(signedPath, 'http://x').searchParams);
}

const refused = (status: number, pattern: RegExp) => (e: unknown) =>
  e instanceof SandcastleError && e.status === status && pattern.test(e.message);

describe('signed upload URLs', () => {
  it('accepts the URL it signed until it expires', () => {
    const now = Date.now();
    const q = query(uploads.signedPath('t1', hash, now));
    uploads.verify(hash, q, now + 1000);
    assert.throws(() => uploads.verify(hash, q, now + uploadUrlTtlMs + 1), refused(401, /expired/));
  });

  it('refuses a forged signature, another hash or template, and a URL without a signature', () => {
    const q = query(uploads.signedPath('t1', hash));
    assert.throws(() => uploads.verify(hash, { ...q, signature: 'b'.repeat(64) }), refused(401, /signature does not match/));
    assert.throws(() => uploads.verify('c'.repeat(64), q), refused(401, /signature does not match/));
    assert.throws(() => uploads.verify(hash, { ...q, template: 't2' }), refused(401, /signature does not match/));
    assert.throws(() => uploads.verify(hash, { template: 't1' }), refused(401, /lacks its signature/));
    assert.throws(() => uploads.verify(hash, { ...q, expires: String(Date.now() + 10 * uploadUrlTtlMs) }), refused(401, /signature/));
  });

  it('refuses a hash that is no sha256', () => {
    assert.throws(() => uploads.signedPath('t1', '../../etc/passwd'), refused(400, /64 lowercase hex/));
  });
});

describe('receiving uploads', () => {
  it('keeps a body of exactly its length under the hash', async () => {
    await uploads.receive(hash, 5, Readable.from([Buffer.from('hel'), Buffer.from('lo')]));
    assert.equal(await readFile(uploads.tarPath(hash), 'utf8'), 'hello');
    assert.ok(uploads.has(hash));
  });

  it('refuses a body over the limit (413), without a length (411), or shorter or longer than it said; keeps nothing', async () => {
    const other = 'd'.repeat(64);
    await assert.rejects(uploads.receive(other, 2000, Readable.from([Buffer.alloc(2000)])), refused(413, /exceeds the limit of 1000 bytes/));
    await assert.rejects(uploads.receive(other, undefined, Readable.from([Buffer.alloc(10)])), refused(411, /Content-Length/));
    await assert.rejects(uploads.receive(other, 10, Readable.from([Buffer.alloc(4)])), refused(400, /ended after 4 of 10 bytes/));
    await assert.rejects(uploads.receive(other, 10, Readable.from([Buffer.alloc(40)])), refused(400, /longer than its Content-Length/));
    assert.equal(existsSync(uploads.tarPath(other)), false);
    assert.deepEqual((await readdir(dir)).filter((n) => n.includes('partial')), []);
  });
});
