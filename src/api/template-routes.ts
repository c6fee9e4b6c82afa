// Template routes (design §10): request a build, COPY uploads to signed URLs, start a build, poll
// its status and log, tags, aliases, list, get, delete, publish. Shapes as the e2b and
// novita-sandbox SDKs and the e2b CLI read them.
import { Readable } from 'node:stream';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { errors } from '../errors.js';
import { envdVersion } from '../protocol.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { BuildLogEntry, BuildRecord } from '../store/template-build-store.js';
import type { TemplateRecord } from '../store/template-store.js';
import { buildBodySchema } from '../templates/build/build-steps.js';
import type { TemplateBuilds } from '../templates/build/template-builds.js';
import { discardRefusedBody } from './refused-body.js';
import { parseBody, readJson } from './schemas.js';

/** Where uploads go; outside the API key check (the URL carries its own signature). */
export const uploadPathPrefix = '/template-uploads/';

const requestBuildBody = z.object({
  name: z.string().min(1).optional(),
  alias: z.string().min(1).optional(),
  tags: z.array(z.string()).nullish(),
  cpuCount: z.number().int().nullish(),
  memoryMB: z.number().int().nullish(),
  minFreeDiskMb: z.number().nullish(),
});
const tagsBody = z.object({ target: z.string().min(1), tags: z.array(z.string()).min(1) });
const removeTagsBody = z.object({ name: z.string().min(1), tags: z.array(z.string()).min(1) });
const publishBody = z.object({ public: z.boolean() });
const levels = ['debug', 'info', 'warn', 'error'] as const;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function logJson(e: BuildLogEntry) {
  return { timestamp: iso(e.timestamp), level: e.level, message: e.message, ...(e.step ? { step: e.step } : {}) };
}

function buildJson(b: BuildRecord) {
  return {
    buildID: b.id, status: b.status, createdAt: iso(b.createdAt), updatedAt: iso(b.finishedAt ?? b.createdAt),
    finishedAt: iso(b.finishedAt), cpuCount: b.cpuCount, memoryMB: b.memoryMB, envdVersion,
  };
}

export function registerTemplateRoutes(app: Hono, builds: TemplateBuilds, sandboxes: SandboxService): void {
  const templateJson = (t: TemplateRecord) => {
    const all = t.buildId === null ? [] : builds.buildsOf(t.id);
    const latest = all[0];
    const names = t.alias ? [t.alias] : [];
    return {
      templateID: t.id, buildID: t.buildId ?? t.id, cpuCount: t.cpuCount, memoryMB: t.memoryMB, diskSizeMB: t.diskSizeMB,
      public: t.public, aliases: names, names, createdAt: iso(t.createdAt), updatedAt: iso(latest?.finishedAt ?? t.createdAt),
      createdBy: null, lastSpawnedAt: null, spawnCount: 0, buildCount: Math.max(all.length, 1),
      buildStatus: latest?.status ?? 'ready', envdVersion, templateType: 'template_build',
    };
  };

  app.post('/v3/templates', async (c) => {
    const body = parseBody(requestBuildBody, await readJson(c));
    const name = body.name ?? body.alias;
    if (!name) throw errors.invalidTemplate('give the template a name');
    const r = builds.requestBuild({ name, tags: body.tags ?? undefined, cpuCount: body.cpuCount ?? undefined, memoryMB: body.memoryMB ?? undefined });
    return c.json({ templateID: r.templateId, buildID: r.build.id, public: r.template?.public ?? false, names: r.names, tags: r.tags, aliases: [name.split(':')[0]] }, 202);
  });

  app.get('/templates/:id/files/:hash', (c) => {
    const origin = new URL(c.req.url).origin;
    return c.json(builds.uploadLink(c.req.param('id'), c.req.param('hash'), origin), 201);
  });

  app.put(`${uploadPathPrefix}:hash`, async (c: Context) => {
    const hash = c.req.param('hash')!;
    const body = c.req.raw.body ? Readable.fromWeb(c.req.raw.body as never) : Readable.from([]);
    try {
      builds.uploads.verify(hash, { template: c.req.query('template'), expires: c.req.query('expires'), signature: c.req.query('signature') });
      const lengthHeader = c.req.header('content-length');
      const length = lengthHeader === undefined || c.req.header('transfer-encoding') ? undefined : Number(lengthHeader);
      await builds.uploads.receive(hash, length, body);
    } catch (err) {
      // A body too long to read through is left unread: the connection cannot carry another request.
      if (!(await discardRefusedBody(body))) c.header('connection', 'close');
      throw err;
    }
    return c.body(null, 200);
  });

  app.post('/v2/templates/:id/builds/:buildId', async (c) => {
    const body = parseBody(buildBodySchema, await readJson(c));
    builds.start(c.req.param('id'), c.req.param('buildId'), body);
    // Exactly an empty body with Content-Length 0: the e2b CLI parses a chunked empty one as JSON.
    return new Response(null, { status: 202, headers: { 'content-length': '0' } });
  });

  app.get('/templates/:id/builds/:buildId/status', (c) => {
    const offset = Math.max(0, Number(c.req.query('logsOffset') ?? 0) || 0);
    const limit = Math.min(100, Math.max(1, Number(c.req.query('limit') ?? 100) || 100));
    const level = levels.find((l) => l === c.req.query('level'));
    const { build, logEntries } = builds.status(c.req.param('id'), c.req.param('buildId'), offset, limit, level);
    return c.json({
      templateID: build.templateId, buildID: build.id, status: build.status, logEntries: logEntries.map(logJson), logs: [],
      ...(build.reason ? { reason: { message: build.reason.message, ...(build.reason.step ? { step: build.reason.step } : {}) } } : {}),
    });
  });

  app.get('/templates/:id/builds/:buildId/logs', (c) => {
    const { logEntries } = builds.status(c.req.param('id'), c.req.param('buildId'), 0, 10_000);
    const cursor = Number(c.req.query('cursor') ?? 0) || 0;
    const level = levels.indexOf((c.req.query('level') ?? 'debug') as (typeof levels)[number]);
    const picked = logEntries.filter((e) => e.timestamp >= cursor && levels.indexOf(e.level) >= level);
    return c.json({ logs: (c.req.query('direction') === 'backward' ? picked.reverse() : picked).map(logJson) });
  });

  app.get('/templates/aliases/:alias', (c) => {
    const t = builds.resolve(c.req.param('alias'));
    if (!t) throw errors.templateNotFound(c.req.param('alias'));
    return c.json({ templateID: t.id, public: t.public });
  });

  app.post('/templates/tags', async (c) => {
    const body = parseBody(tagsBody, await readJson(c));
    const r = builds.assignTags(body.target, body.tags);
    return c.json({ buildID: r.buildId, tags: r.tags }, 201);
  });

  app.delete('/templates/tags', async (c) => {
    const body = parseBody(removeTagsBody, await readJson(c));
    builds.removeTags(body.name, body.tags);
    return c.body(null, 204);
  });

  app.get('/templates/:id/tags', (c) =>
    c.json(builds.tags(c.req.param('id')).map((t) => ({ tag: t.tag, buildID: t.buildId, createdAt: iso(t.createdAt) }))));

  app.get('/templates', (c) => c.json(builds.list().map(templateJson)));

  app.get('/v2/templates', (c) => {
    const all = builds.list().map(templateJson);
    // Novita pages by number; e2b's list has no paging parameters worth a token here.
    const limit = Math.min(100, Math.max(1, Number(c.req.query('limit') ?? 100) || 100));
    const page = Math.max(1, Number(c.req.query('page') ?? 1) || 1);
    if (c.req.query('template_type') === 'snapshot_template') return c.json({ templates: [], total: 0, page, limit, totalPages: 0 });
    const templates = all.slice((page - 1) * limit, page * limit);
    return c.json({ templates, total: all.length, page, limit, totalPages: Math.ceil(all.length / limit) });
  });

  app.get('/templates/:id', (c) => {
    const t = builds.resolve(c.req.param('id'));
    if (!t) throw errors.templateNotFound(c.req.param('id'));
    return c.json({ ...templateJson(t), builds: (t.buildId === null ? [] : builds.buildsOf(t.id)).map(buildJson) });
  });

  app.patch('/v2/templates/:id', async (c) => {
    const body = parseBody(publishBody, await readJson(c));
    const t = builds.setPublic(c.req.param('id'), body.public);
    return c.json({ names: t.alias ? [t.alias] : [] });
  });
}
