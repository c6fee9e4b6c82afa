// File metadata (envd 0.6.2): the SDK sends `X-Metadata-<key>: <value>` headers with an upload,
// envd keeps them as `user.e2b.<key>` extended attributes of the file, and stat, list, move and
// watch entries report them. Node has no xattr calls, so a small static helper (xattr.c, built
// next to the bundle) does the system calls; a file's attributes are its own, so an upload that
// replaces a file without metadata leaves none behind.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { EntryInit } from './entry-info.js';

export type Metadata = Record<string, string>;

const headerPrefix = 'x-metadata-';
// What the SDK allows (HTTP token characters, printable ASCII values).
const keyPattern = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const valuePattern = /^[\x20-\x7e]*$/;
// The longest list of files one helper run is given (the argument list is bounded).
const filesPerRun = 500;

/** The helper beside the bundle (/opt/sandcastle/lib/xattr), or, when envd runs from the sources
 *  (its unit tests), the one `npm run build` made. */
const helper = [new URL('./xattr', import.meta.url), new URL('../../dist/sandbox/xattr', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((p) => existsSync(p));

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

function run(args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (!helper) return reject(new MetadataError('file metadata is not available: the xattr helper is missing (run `npm run build`)'));
    execFile(helper, args, { encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new MetadataError(`file metadata: ${stderr.toString().trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Stores `meta` as `user.e2b.*` attributes of `file`. */
export async function writeMetadata(file: string, meta: Metadata): Promise<void> {
  await run(['set', file, ...Object.entries(meta).flat()]);
}

/** The metadata of each path (undefined where a file has none or cannot be read). */
export async function readMetadata(paths: string[]): Promise<Array<Metadata | undefined>> {
  const out: Array<Metadata | undefined> = new Array(paths.length).fill(undefined);
  if (!helper) return out;
  for (let start = 0; start < paths.length; start += filesPerRun) {
    const batch = paths.slice(start, start + filesPerRun);
    const fields = (await run(['get', ...batch]).catch(() => Buffer.alloc(0))).toString('utf8').split('\0');
    for (let i = 0; i + 2 < fields.length; i += 3) {
      const index = start + Number(fields[i]);
      (out[index] ??= {})[fields[i + 1]!] = fields[i + 2]!;
    }
  }
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
