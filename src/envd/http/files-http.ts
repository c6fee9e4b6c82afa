// `GET/POST /files` (protocol §4.2, §4.3): downloads streamed from disk, uploads streamed to a
// temporary file beside the destination and renamed over it, so a reader never sees half a file
// and envd never holds a whole upload in memory.
import Busboy from 'busboy';
import { createWriteStream } from 'node:fs';
import { chmod, open, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, createGunzip } from 'node:zlib';
import { checkFilesAccess } from '../auth.js';
import { signedFileQuery } from '../file-signature.js';
import { header, sendError, sendJson } from './http-util.js';
import { chownTo, ensureDirs, PathError, resolveUserPath } from '../filesystem/paths.js';
import { state } from '../state.js';
import { beginUpload, endUpload } from '../filesystem/uploads.js';
import { lookupUser, type User } from '../users.js';
import { MetadataError, uploadMetadata, writeMetadata, type Metadata } from '../filesystem/metadata.js';
import { freedMemory } from '../freed-memory.js';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function httpError(err: unknown, p: string): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof PathError || err instanceof MetadataError) return new HttpError(400, err.message);
  const e = err as NodeJS.ErrnoException;
  // zlib's codes (Z_DATA_ERROR, Z_BUF_ERROR, ...): a body sent as gzip that is not.
  if (e.code?.startsWith('Z_')) return new HttpError(400, `the upload is not valid gzip: ${e.message}`);
  switch (e.code) {
    case 'ENOENT':
      return new HttpError(404, `path '${p}' not found`);
    case 'ENOTDIR':
      return new HttpError(400, `a component of path '${p}' is not a directory`);
    case 'EISDIR':
      return new HttpError(400, `path '${p}' is a directory`);
    case 'ENAMETOOLONG':
      return new HttpError(400, `path '${p}' is too long`);
    case 'ELOOP':
      return new HttpError(400, `path '${p}' has too many levels of symbolic links`);
    case 'EACCES':
    case 'EPERM':
      return new HttpError(403, `permission denied for '${p}'`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new HttpError(507, `not enough disk space available to write '${p}'`);
    default:
      return new HttpError(500, `error on '${p}': ${e.message ?? String(err)}`);
  }
}

function resolveFor(p: string, user: User): string {
  try {
    return resolveUserPath(p, user);
  } catch (err) {
    throw httpError(err, p);
  }
}

/** gzip if the client takes it (and prefers it to identity), identity, or undefined for 406. */
function responseEncoding(accept: string | undefined): 'gzip' | 'identity' | undefined {
  if (!accept) return 'identity';
  const q = new Map<string, number>();
  for (const part of accept.split(',')) {
    const [name = '', ...params] = part.split(';').map((s) => s.trim());
    const qParam = params.find((p) => p.startsWith('q='));
    q.set(name.toLowerCase(), qParam ? Number(qParam.slice(2)) || 0 : 1);
  }
  const gzip = q.get('gzip') ?? q.get('*') ?? 0;
  const identity = q.get('identity') ?? (q.get('*') === 0 ? 0 : 1);
  if (gzip > 0 && gzip >= (q.get('identity') ?? 0)) return 'gzip';
  return identity > 0 ? 'identity' : undefined;
}

// Below this, compressing costs more than it saves (and an empty body keeps Content-Length: 0,
// which the novita SDK checks for).
const gzipMinBytes = 1024;

async function download(req: IncomingMessage, res: ServerResponse, p: string, user: User): Promise<void> {
  const abs = resolveFor(p, user);
  const st = await stat(abs).catch((err) => {
    throw httpError(err, abs);
  });
  if (st.isDirectory()) throw new HttpError(400, `path '${abs}' is a directory`);
  const encoding = responseEncoding(header(req, 'accept-encoding'));
  if (!encoding) throw new HttpError(406, 'no acceptable encoding, supported: gzip, identity');
  // Opened before any header goes out, so a permission problem is still a proper error reply.
  const fh = await open(abs, 'r').catch((err) => {
    throw httpError(err, abs);
  });
  const source = fh.createReadStream(); // Closes the handle when done.
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Last-Modified': st.mtime.toUTCString(),
    Vary: 'Accept-Encoding',
  };
  try {
    if (encoding === 'gzip' && st.size >= gzipMinBytes) {
      res.writeHead(200, { ...headers, 'Content-Encoding': 'gzip' });
      await pipeline(source, createGzip({ level: 1 }), res);
    } else {
      res.writeHead(200, { ...headers, 'Content-Length': st.size });
      await pipeline(source, res);
    }
  } catch {
    // The client went away, or the file shrank under us: the reply is already on its way.
    res.destroy();
  }
}

interface WriteInfo {
  name: string;
  path: string;
  type: 'file';
  metadata?: Metadata;
}

/**
 * Copies `source` into a new file. On a write error the rest of `source` is still consumed, so
 * the request keeps flowing (busboy moves on, the error reply can be read by the client).
 */
function streamToFile(source: Readable, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // The body may have failed or ended early while the destination was being prepared: its
    // events are gone, and waiting for them would hold the request (and the file) forever.
    if (source.errored) return reject(source.errored);
    if (source.closed && !source.readableEnded) return reject(new HttpError(400, 'the upload ended prematurely'));
    const out = createWriteStream(file, { flags: 'wx' });
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      source.unpipe(out);
      source.resume();
      out.destroy();
      reject(err);
    };
    out.on('error', fail);
    source.on('error', fail);
    source.on('close', () => {
      if (!source.readableEnded) fail(new HttpError(400, 'the upload ended prematurely'));
    });
    out.on('close', () => {
      if (!failed) resolve();
    });
    source.pipe(out);
  });
}

/** Streams `source` into `abs` through a temporary sibling that is renamed over it, with
 *  `meta` as its metadata (a replaced file's metadata goes with it). */
async function writeFile(source: Readable, abs: string, user: User, meta: Metadata | undefined): Promise<WriteInfo> {
  const dir = path.dirname(abs);
  await ensureDirs(dir, user);
  const existing = await stat(abs).catch(() => undefined);
  if (existing?.isDirectory()) throw new HttpError(400, `path '${abs}' is a directory`);
  const tmp = beginUpload(abs, existing !== undefined);
  try {
    await streamToFile(source, tmp);
    // An overwritten file keeps its permission bits (an executable stays executable).
    if (existing) await chmod(tmp, existing.mode & 0o7777);
    await chownTo(tmp, user);
    if (meta) await writeMetadata(tmp, meta);
    await rename(tmp, abs);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  } finally {
    endUpload(tmp);
  }
  return { name: path.basename(abs), path: abs, type: 'file', ...(meta && { metadata: meta }) };
}

async function writeOne(source: Readable, abs: string, user: User, meta: Metadata | undefined): Promise<WriteInfo> {
  try {
    return await writeFile(source, abs, user, meta);
  } catch (err) {
    source.resume(); // Let the rest of the request body flow so the reply can be read.
    throw httpError(err, abs);
  }
}

function uploadMultipart(body: Readable, req: IncomingMessage, pathParam: string | undefined, user: User, meta: Metadata | undefined): Promise<WriteInfo[]> {
  return new Promise((resolve, reject) => {
    let bb: Busboy.Busboy;
    try {
      // preservePath: the part's filename is the destination path, not just a name.
      bb = Busboy({ headers: req.headers, preservePath: true });
    } catch (err) {
      // Busboy refuses a Content-Type it cannot split (no boundary, not form-data) at once.
      return reject(new HttpError(400, `malformed multipart request: ${(err as Error).message}`));
    }
    const writes: Promise<WriteInfo | undefined>[] = [];
    const seen = new Set<string>();
    let failure: HttpError | undefined;
    bb.on('file', (field, stream, info) => {
      if (field !== 'file' || failure) return void stream.resume();
      const dest = pathParam ?? info.filename;
      let abs: string;
      try {
        if (!dest) throw new HttpError(400, 'a file part needs a filename (its destination path) or the path query');
        abs = resolveFor(dest, user);
        if (seen.has(abs)) throw new HttpError(400, `you cannot upload multiple files to the same path '${abs}' in one request`);
      } catch (err) {
        failure = err as HttpError;
        return void stream.resume();
      }
      seen.add(abs);
      writes.push(
        writeOne(stream, abs, user, meta).catch((err: HttpError) => {
          failure ??= err;
          return undefined;
        }),
      );
    });
    bb.on('error', (err: Error) => reject(new HttpError(400, `malformed multipart body: ${err.message}`)));
    bb.on('close', () => {
      void Promise.all(writes).then((results) => {
        if (failure) return reject(failure);
        const done = results.filter((r) => r !== undefined);
        if (done.length === 0) return reject(new HttpError(400, 'no file part named "file" in the upload'));
        resolve(done);
      });
    });
    body.on('error', (err) => bb.destroy(err));
    body.pipe(bb);
  });
}

async function upload(req: IncomingMessage, res: ServerResponse, pathParam: string | undefined, user: User): Promise<void> {
  const contentEncoding = (header(req, 'content-encoding') ?? 'identity').toLowerCase();
  if (contentEncoding !== 'identity' && contentEncoding !== 'gzip') {
    throw new HttpError(400, `unsupported Content-Encoding: ${contentEncoding}, supported: gzip`);
  }
  const meta = uploadMetadata(req);
  let body: Readable = req;
  if (contentEncoding === 'gzip') {
    const gunzip = createGunzip();
    // A broken or aborted body surfaces as an error of the gunzip stream.
    pipeline(req, gunzip).catch(() => undefined);
    body = gunzip;
  }
  const contentType = (header(req, 'content-type') ?? '').toLowerCase();
  let written: WriteInfo[];
  if (contentType.startsWith('application/octet-stream')) {
    if (!pathParam) throw new HttpError(400, 'path query parameter is required for an application/octet-stream upload');
    written = [await writeOne(body, resolveFor(pathParam, user), user, meta)];
  } else if (contentType.startsWith('multipart/')) {
    written = await uploadMultipart(body, req, pathParam, user, meta);
  } else {
    throw new HttpError(400, `unsupported content type: ${contentType || 'none'}, expected multipart/form-data or application/octet-stream`);
  }
  sendJson(res, 200, written);
}

export async function handleFiles(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const pathParam = query.get('path') ?? undefined;
  const username = query.get('username') || undefined;
  const write = req.method === 'POST';
  if (!write && req.method !== 'GET') return sendError(res, 405, `method ${req.method} not allowed on /files`);

  const denied = checkFilesAccess(header(req, 'x-access-token'), write ? 'write' : 'read', signedFileQuery(query));
  if (denied) return sendError(res, 401, denied);

  const name = username ?? state.defaultUser;
  const user = lookupUser(name);
  if (!user) return sendError(res, 401, `error looking up user '${name}': no such user in the sandbox`);

  freedMemory.releaseWaiting();
  // A large file passes through envd's buffers as a command's output does.
  res.once('close', () => freedMemory.releaseSoon());
  try {
    if (write) await upload(req, res, pathParam, user);
    else await download(req, res, pathParam ?? '', user);
  } catch (err) {
    const e = err instanceof HttpError ? err : httpError(err, pathParam ?? '');
    if (res.headersSent) res.destroy();
    else sendError(res, e.status, e.message);
  }
}
