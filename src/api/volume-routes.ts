// Volumes (e2b's `Volume`): `/volumes` create, list, get and delete with the API key, and the
// volume content API `/volumecontent/{volumeID}/{dir,path,file}` with the volume's own token
// (`Authorization: Bearer <token>`), which the SDK reaches at E2B_VOLUME_API_URL.
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { Context, Hono } from 'hono';
import { errors } from '../errors.js';
import type { VolumeRecord } from '../store/volume-store.js';
import type { EntryOptions } from '../volumes/volume-files.js';
import type { VolumeService } from '../volumes/volume-service.js';
import { parseBody, readJson } from './schemas.js';
import { z } from 'zod';

/** Requests under this prefix carry a volume token instead of an API key, and bodies of any size. */
export const volumeContentPrefix = '/volumecontent/';

const newVolumeBody = z.looseObject({ name: z.string() });
const metadataBody = z.looseObject({ uid: z.number().nullish(), gid: z.number().nullish(), mode: z.number().nullish() });

const volumeJson = (v: VolumeRecord) => ({ volumeID: v.id, name: v.name });
const volumeAndTokenJson = (v: VolumeRecord) => ({ ...volumeJson(v), token: v.token });

/** A whole-number query parameter within [0, max]; undefined when absent. */
function intQuery(c: Context, name: string, max: number): number | undefined {
  const raw = c.req.query(name);
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) throw errors.badRequest(`query parameter ${name} must be a whole number from 0 to ${max}, got '${raw}'`);
  return n;
}

function entryOptions(c: Context): EntryOptions {
  return { uid: intQuery(c, 'uid', 65535), gid: intQuery(c, 'gid', 65535), mode: intQuery(c, 'mode', 0o7777) };
}

function pathQuery(c: Context): string {
  const p = c.req.query('path');
  if (p === undefined) throw errors.badRequest('query parameter path is missing: give a path inside the volume such as /data/file.txt');
  return p;
}

function bearer(c: Context): string | undefined {
  const header = c.req.header('authorization') ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(header);
  return m?.[1]?.trim();
}

export function registerVolumeRoutes(app: Hono, volumes: VolumeService): void {
  app.post('/volumes', async (c) => {
    const body = parseBody(newVolumeBody, await readJson(c));
    return c.json(volumeAndTokenJson(await volumes.create(body.name)), 201);
  });
  app.get('/volumes', (c) => c.json(volumes.list().map(volumeJson)));
  app.get('/volumes/:id', (c) => c.json(volumeAndTokenJson(volumes.get(c.req.param('id')))));
  // novita's Volume.updateQuota: sizes are not limited here, which it is told rather than a 404.
  app.patch('/volumes/:id', (c) => {
    volumes.get(c.req.param('id'));
    throw errors.volumeQuotaUnsupported();
  });
  app.delete('/volumes/:id', async (c) => {
    await volumes.delete(c.req.param('id'));
    return c.body(null, 204);
  });

  const files = (c: Context) => volumes.files(c.req.param('id')!, bearer(c));

  app.get('/volumecontent/:id/dir', async (c) => {
    const f = files(c);
    const depth = intQuery(c, 'depth', 64);
    return c.json(await f.list(pathQuery(c), depth ?? 1));
  });
  app.post('/volumecontent/:id/dir', async (c) => {
    const f = files(c);
    return c.json(await f.makeDir(pathQuery(c), { ...entryOptions(c), force: c.req.query('force') === 'true' }), 201);
  });
  app.get('/volumecontent/:id/path', async (c) => c.json(await files(c).stat(pathQuery(c))));
  app.patch('/volumecontent/:id/path', async (c) => {
    const f = files(c);
    const body = parseBody(metadataBody, await readJson(c));
    const opts: EntryOptions = { uid: body.uid ?? undefined, gid: body.gid ?? undefined, mode: body.mode ?? undefined };
    for (const [k, v] of Object.entries(opts)) {
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > (k === 'mode' ? 0o7777 : 65535))) throw errors.badRequest(`${k} ${v} is out of range`);
    }
    return c.json(await f.updateMetadata(pathQuery(c), opts));
  });
  app.delete('/volumecontent/:id/path', async (c) => {
    await files(c).remove(pathQuery(c));
    return c.body(null, 204);
  });
  app.get('/volumecontent/:id/file', async (c) => {
    const { handle, size } = await files(c).read(pathQuery(c));
    const stream = Readable.toWeb(handle.createReadStream()) as ReadableStream<Uint8Array>;
    return new Response(stream, { status: 200, headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) } });
  });
  app.put('/volumecontent/:id/file', async (c) => {
    const f = files(c);
    const target = pathQuery(c);
    const opts = entryOptions(c);
    // Node's own request stream when the server gives it (a web stream over it costs about half
    // the throughput of a large write). Only one of the two may be read: the web stream, once
    // asked for, takes the Node one over.
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    return c.json(await f.write(target, incoming ?? webBody(c), opts), 201);
  });
}

function webBody(c: Context): Readable {
  const raw = c.req.raw.body;
  return raw ? Readable.fromWeb(raw as import('node:stream/web').ReadableStream<Uint8Array>) : Readable.from([]);
}
