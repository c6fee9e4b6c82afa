// File metadata (envd 0.6.2): the SDK sends `X-Metadata-<key>: <value>` headers with an upload,
// envd keeps them as `user.e2b.<key>` extended attributes of the file, and stat, list, move and
// watch entries report them. Node has no xattr calls, so a small static helper (xattr.c, built
// next to the bundle) does the system calls; a file's attributes are its own, so an upload that
// replaces a file without metadata leaves none behind. The helper stays up and answers requests
// in order: started for each call (Node forks all of envd to start a process), it made a Stat take
// envd 9 ms here, 7 ms of them CPU; 2 ms now.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { bundledFile } from '../bundled-file.js';
import type { EntryInit } from './entry-info.js';

export type Metadata = Record<string, string>;

const headerPrefix = 'x-metadata-';
// What the SDK allows (HTTP token characters, printable ASCII values).
const keyPattern = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const valuePattern = /^[\x20-\x7e]*$/;

/** The helper (bundled-file.ts says where it is looked for). */
const helperFile = bundledFile('xattr');

export class MetadataError extends Error {}

/** The metadata an upload's headers carry (keys as the client spelled them), or undefined. */
export function uploadMetadata(req: IncomingMessage): Metadata | undefined {
  let meta: Metadata | undefined;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    if (!name.toLowerCase().startsWith(headerPrefix)) continue;
    const key = name.slice(headerPrefix.length);
    const value = req.rawHeaders[i + 1]!;
    if (!keyPattern.test(key)) throw new MetadataError(`invalid metadata key '${key}': use HTTP token characters`);
    if (!valuePattern.test(value)) throw new MetadataError(`invalid metadata value for key '${key}': use printable US-ASCII`);
    (meta ??= {})[key] = value;
  }
  return meta;
}

/** An idle helper ends after this long, so that a sandbox paused later (its processes saved and
 *  restored one by one) seldom carries it. */
const helperIdleMs = 30_000;

interface Waiting {
  resolve: (fields: string[]) => void;
  reject: (err: Error) => void;
}

/** The helper process and the requests it has yet to answer, oldest first. An answer it cannot
 *  have meant ends it (the calls waiting fail, the next call starts another): read on, it would
 *  hand every later call the answer of another. */
export class Helper {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly waiting: Waiting[] = [];
  /** The answer being read: its fields so far, and the bytes after the last NUL. */
  private fields: string[] = [];
  private partial: Buffer[] = [];
  private stderr = '';
  private idleTimer: NodeJS.Timeout | undefined;
  ended = false;

  constructor(file: string) {
    this.child = spawn(file, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => this.read(chunk));
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-2000)));
    this.child.stdin.on('error', () => undefined); // its end is reported by 'close' below
    this.child.on('error', (err) => this.end(err.message));
    this.child.on('close', (code, signal) => this.end(this.stderr.trim() || `it exited (${signal ?? `status ${code}`})`));
    // Only an awaited answer keeps the event loop alive (busy() refs the child and its stdout).
    (this.child.stdin as unknown as Socket).unref();
    (this.child.stderr as Socket).unref();
    this.idle();
  }

  request(fields: string[]): Promise<string[]> {
    if (this.ended) return Promise.reject(new MetadataError('file metadata: the xattr helper has ended'));
    return new Promise((resolve, reject) => {
      if (this.waiting.push({ resolve, reject }) === 1) this.busy();
      this.child.stdin.write(fields.map((f) => `${f}\0`).join(''));
    });
  }

  private read(chunk: Buffer): void {
    let from = 0;
    for (let nul = chunk.indexOf(0); nul !== -1; nul = chunk.indexOf(0, from)) {
      this.partial.push(chunk.subarray(from, nul));
      this.fields.push(Buffer.concat(this.partial).toString('utf8'));
      this.partial = [];
      from = nul + 1;
      let complete: boolean;
      try {
        complete = this.answerComplete();
      } catch (err) {
        this.end((err as Error).message);
        this.child.kill('SIGKILL');
        return;
      }
      if (complete) {
        const answer = this.fields;
        this.fields = [];
        this.waiting.shift()!.resolve(answer);
        if (this.waiting.length === 0) this.idle();
      }
    }
    if (from < chunk.length) this.partial.push(chunk.subarray(from));
  }

  /** Whether the fields read make an answer: "ok M" and M triples, or "error MESSAGE". */
  private answerComplete(): boolean {
    const [status, second] = this.fields;
    if (status !== 'ok' && status !== 'error') throw new Error(`it answered '${status!.slice(0, 80)}', neither ok nor error`);
    if (second === undefined) return false;
    if (status === 'error') return true;
    if (!/^\d{1,9}$/.test(second)) throw new Error(`it answered ok with '${second.slice(0, 80)}' for the count of attributes`);
    return this.fields.length === 2 + 3 * Number(second);
  }

  private end(why: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const w of this.waiting.splice(0)) w.reject(new MetadataError(`file metadata: the xattr helper ended: ${why}`));
  }

  private busy(): void {
    clearTimeout(this.idleTimer);
    this.child.ref();
    (this.child.stdout as Socket).ref();
  }

  private idle(): void {
    this.child.unref();
    (this.child.stdout as Socket).unref();
    this.idleTimer = setTimeout(() => {
      // Marked ended first: a request from now on starts a new helper.
      this.end('it was idle');
      this.child.stdin.end();
    }, helperIdleMs).unref();
  }
}

let current: Helper | undefined;

/** The fields of the helper's answer; a helper that ended is started again. */
async function ask(fields: string[]): Promise<string[]> {
  if (!helperFile) throw new MetadataError('file metadata is not available: the xattr helper is missing (run `npm run build`)');
  if (!current || current.ended) current = new Helper(helperFile);
  const answer = await current.request(fields);
  if (answer[0] !== 'ok') throw new MetadataError(`file metadata: ${answer[1]}`);
  return answer.slice(2);
}

/** Stores `meta` as `user.e2b.*` attributes of `file`. */
export async function writeMetadata(file: string, meta: Metadata): Promise<void> {
  const pairs = Object.entries(meta);
  await ask(['set', file, String(pairs.length), ...pairs.flat()]);
}

/** The metadata of each path (undefined where a file has none or cannot be read). */
export async function readMetadata(paths: string[]): Promise<Array<Metadata | undefined>> {
  const out: Array<Metadata | undefined> = new Array(paths.length).fill(undefined);
  if (!helperFile || paths.length === 0) return out;
  const triples = await ask(['get', String(paths.length), ...paths]).catch(() => []);
  for (let i = 0; i + 2 < triples.length; i += 3) (out[Number(triples[i])] ??= {})[triples[i + 1]!] = triples[i + 2]!;
  return out;
}

/** Fills in the metadata of entries (in place), with one helper run per batch. */
export async function addMetadata<T extends EntryInit>(entries: T[]): Promise<T[]> {
  const metas = await readMetadata(entries.map((e) => e.path!));
  entries.forEach((e, i) => {
    if (metas[i]) e.metadata = metas[i];
  });
  return entries;
}
