// Amazon S3 for tests: s3rver (an S3-compatible server in Node) serving HTTPS on :443 of a fake
// internet host, for `s3.amazonaws.com` and `<bucket>.s3.amazonaws.com` (virtual-host style, as
// s3fs asks by default), with the buckets made up front. Its storage is a temporary folder.
// s3rver knows one account, access key id `S3RVER`; it checks SigV2 signatures but not SigV4 ones.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { ServerCertificate } from './test-ca.js';

export const s3AccessKeyId = 'S3RVER';

export interface S3ServerOptions {
  /** The network namespace and address it listens in (a fake internet host). */
  namespace: string;
  address: string;
  /** For s3.amazonaws.com and *.s3.amazonaws.com. */
  tls: ServerCertificate;
  /** Its CA's certificate, for the requests the test makes. */
  caCert: string;
  buckets: string[];
}

export interface S3Server {
  /** An object's bytes as the server stores them, or undefined when there is none. */
  getObject(bucket: string, key: string): Promise<string | undefined>;
  putObject(bucket: string, key: string, body: string): Promise<void>;
  /** The requests it logged so far (method, path, status), for failure messages. */
  log(): string;
  close(): Promise<void>;
}

const serverCode = (s3rverPath: string) => `
const S3rver = require(${JSON.stringify(s3rverPath)});
const fs = require('node:fs');
const o = JSON.parse(process.argv[1]);
new S3rver({
  address: o.address, port: 443, key: fs.readFileSync(o.key), cert: fs.readFileSync(o.cert),
  directory: o.directory, configureBuckets: o.buckets.map((name) => ({ name })),
}).run().then(() => console.log('s3 server ready'), (e) => { console.error(e); process.exit(1); });
`;

export async function startS3Server(opts: S3ServerOptions): Promise<S3Server> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-test-s3-'));
  const s3rverPath = createRequire(import.meta.url).resolve('s3rver');
  const config = JSON.stringify({ address: opts.address, key: opts.tls.key, cert: opts.tls.cert, directory, buckets: opts.buckets });
  const child: ChildProcess = spawn('ip', ['netns', 'exec', opts.namespace, process.execPath, '-e', serverCode(s3rverPath), config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in 15 s: ${out}`)), 15_000);
      child.stdout!.on('data', () => {
        if (out.includes('s3 server ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`it exited with ${code}: ${out}`));
      });
    });
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    await rm(directory, { recursive: true, force: true });
    throw new Error(`s3rver on ${opts.address}:443 in ${opts.namespace}: ${(e as Error).message}`);
  }

  const ca = readFileSync(opts.caCert);
  // Anonymous path-style requests: s3rver lets them through, as a bucket owner's tools would be.
  const request = (method: string, bucket: string, key: string, body?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(
        { host: opts.address, port: 443, servername: 's3.amazonaws.com', ca, method, path: `/${bucket}/${encodeURIComponent(key)}`, headers: { host: 's3.amazonaws.com' } },
        (res) => {
          let data = '';
          res.on('data', (c: Buffer) => (data += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  return {
    async getObject(bucket, key) {
      const res = await request('GET', bucket, key);
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw new Error(`GET ${bucket}/${key} from the test S3 server: HTTP ${res.status} ${res.body}`);
      return res.body;
    },
    async putObject(bucket, key, body) {
      const res = await request('PUT', bucket, key, body);
      if (res.status !== 200) throw new Error(`PUT ${bucket}/${key} to the test S3 server: HTTP ${res.status} ${res.body}`);
    },
    // s3rver's logger colours its levels.
    log: () => out.replace(/\x1b\[[0-9;]*m/g, ''),
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}
