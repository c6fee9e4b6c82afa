// COPY uploads of template builds: the SDK asks for a URL per files hash and PUTs a gzip tar there
// without an API key (as to a presigned S3 URL), so the URL carries its own expiring signature.
// Each tar is kept once per hash; a build's COPY step reads it from here.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errors } from '../../errors.js';

/** How long an upload URL is good for (the hosted product's presigned URLs last 30 minutes). */
export const uploadUrlTtlMs = 30 * 60 * 1000;
const HASH = /^[0-9a-f]{64}$/;

export class FileUploads {
  /** Per server process: a restart voids the URLs handed out before it. */
  private readonly secret = randomBytes(32);

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  static checkHash(hash: string): void {
    if (!HASH.test(hash)) throw errors.badRequest(`files hash "${hash}" is not 64 lowercase hex digits (a sha256)`);
  }

  tarPath(hash: string): string {
    FileUploads.checkHash(hash);
    return path.join(this.dir, `${hash}.tar.gz`);
  }

  has(hash: string): boolean {
    return existsSync(this.tarPath(hash));
  }

  /** The path and query of the signed upload URL for `hash`. */
  signedPath(templateId: string, hash: string, now = Date.now()): string {
    FileUploads.checkHash(hash);
    const expires = now + uploadUrlTtlMs;
    return `/template-uploads/${hash}?template=${encodeURIComponent(templateId)}&expires=${expires}&signature=${this.sign(templateId, hash, expires)}`;
  }

  private sign(templateId: string, hash: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${templateId}\n${hash}\n${expires}`).digest('hex');
  }

  /** Throws 401 unless the query was signed by this server for this hash and has not expired. */
  verify(hash: string, query: { template?: string; expires?: string; signature?: string }, now = Date.now()): void {
    FileUploads.checkHash(hash);
    const expires = Number(query.expires);
    if (!query.template || !Number.isSafeInteger(expires) || !query.signature) throw errors.uploadUrlInvalid('it lacks its signature or expiry');
    const want = Buffer.from(this.sign(query.template, hash, expires), 'hex');
    const got = Buffer.from(query.signature, 'hex');
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw errors.uploadUrlInvalid('its signature does not match');
    if (now > expires) throw errors.uploadUrlInvalid(`it expired at ${new Date(expires).toISOString()}`);
  }

  /** Stores a body of exactly `length` bytes as the tar of `hash`; nothing is kept on failure. */
  async receive(hash: string, length: number | undefined, body: Readable): Promise<void> {
    if (length === undefined || !Number.isSafeInteger(length) || length < 0) throw errors.uploadLengthRequired();
    if (length > this.maxBytes) throw errors.uploadTooLarge(length, this.maxBytes);
    await mkdir(this.dir, { recursive: true });
    const final = this.tarPath(hash);
    const partial = `${final}.${randomBytes(6).toString('hex')}.partial`;
    let received = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        done(received > length ? errors.badRequest(`upload is longer than its Content-Length (${length} bytes)`) : null, chunk);
      },
    });
    try {
      await pipeline(body, count, createWriteStream(partial, { mode: 0o600 }));
      if (received !== length) throw errors.badRequest(`upload ended after ${received} of ${length} bytes`);
      await rename(partial, final);
    } finally {
      await rm(partial, { force: true });
    }
  }

  /** Removes uploads cut short by a crash (run at start, before any upload). */
  async sweepPartial(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => n.endsWith('.partial')).map((n) => rm(path.join(this.dir, n), { force: true })));
  }
}
