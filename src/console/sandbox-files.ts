// The console's file browser: a sandbox's directories listed through envd's filesystem service,
// and files downloaded and uploaded through envd's /files, streamed both ways (never held whole).
import { Readable } from 'node:stream';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { FileType, Filesystem } from '../envd/gen/envd/filesystem_pb.js';
import { envdPort } from '../protocol.js';

export interface EnvdTarget {
  address: string;
  accessToken: string;
}

export interface DirListing {
  /** The directory's absolute path (`~` resolved). */
  path: string;
  entries: Array<{ name: string; path: string; type: 'file' | 'dir' | 'other'; size: number; modified: string | null }>;
}

function filesystem(t: EnvdTarget) {
  const transport = createConnectTransport({
    baseUrl: `http://${t.address}:${envdPort}`,
    httpVersion: '1.1',
    interceptors: [(next) => (req) => {
      req.header.set('x-access-token', t.accessToken);
      return next(req);
    }],
  });
  return createClient(Filesystem, transport);
}

const typeName = (t: FileType): 'file' | 'dir' | 'other' => (t === FileType.FILE ? 'file' : t === FileType.DIRECTORY ? 'dir' : 'other');

/** Directories first, then by name. */
export async function listDir(t: EnvdTarget, dir: string): Promise<DirListing> {
  const fs = filesystem(t);
  const { entry } = await fs.stat({ path: dir });
  const { entries } = await fs.listDir({ path: dir, depth: 1 });
  const out = entries.map((e) => ({
    name: e.name,
    path: e.path,
    type: typeName(e.type),
    size: Number(e.size),
    modified: e.modifiedTime ? new Date(Number(e.modifiedTime.seconds) * 1000).toISOString() : null,
  }));
  out.sort((a, b) => (a.type === 'dir') !== (b.type === 'dir') ? (a.type === 'dir' ? -1 : 1) : a.name.localeCompare(b.name));
  return { path: entry?.path ?? dir, entries: out };
}

const filesUrl = (t: EnvdTarget, file: string) => `http://${t.address}:${envdPort}/files?${new URLSearchParams({ path: file })}`;

/** envd's answer to a download, passed on as it streams. */
export function download(t: EnvdTarget, file: string, signal: AbortSignal): Promise<Response> {
  return fetch(filesUrl(t, file), { headers: { 'x-access-token': t.accessToken }, signal });
}

/** Streams `body` into `file` (made or replaced); envd's answer. */
export function upload(t: EnvdTarget, file: string, body: ReadableStream<Uint8Array> | Readable): Promise<Response> {
  return fetch(filesUrl(t, file), {
    method: 'POST',
    headers: { 'x-access-token': t.accessToken, 'content-type': 'application/octet-stream' },
    body: body as ReadableStream<Uint8Array>,
    duplex: 'half',
  } as RequestInit);
}
