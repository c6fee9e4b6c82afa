// The control-plane REST API: HTTP in, calls on the sandbox service, JSON out. No lifecycle logic.
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { errors, SandcastleError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { ApiKeyStore } from '../store/api-key-store.js';
import type { MetricsStore } from '../store/metrics-store.js';
import { apiKeyCheck } from './api-key-check.js';
import { decodeLimit, decodeMetadataFilter, decodeOrder, decodeStartedAfter, decodeStateFilter } from './list-query.js';
import { listedSandboxJson, sandboxDetailJson, sandboxJson } from './sandbox-json.js';
import { registerLogRoutes } from './log-routes.js';
import { registerMetricsRoutes } from './metrics-routes.js';
import { registerNetworkRoutes } from './network-routes.js';
import { registerPersistenceRoutes } from './persistence-routes.js';
import { registerTemplateRoutes, uploadPathPrefix } from './template-routes.js';
import type { TemplateBuilds } from '../templates/build/template-builds.js';
import { jsonApiApp } from './json-app.js';
import { registerVolumeRoutes, volumeContentPrefix } from './volume-routes.js';
import { refuseUnofferedCreateOptions, registerUnofferedRoutes } from './unoffered-routes.js';
import type { VolumeService } from '../volumes/volume-service.js';
import type { PublicAccess } from '../proxy/public-access.js';
import { bodyCutShort, connectBody, createSandboxBody, maxBodyBytes, parseBody, readJson, timeoutBody } from './schemas.js';

/** `keys` is undefined when the server runs without key checks (`SANDCASTLE_AUTH=none`). */
export function createApiApp(sandboxes: SandboxService, metrics: MetricsStore, keys: ApiKeyStore | undefined, log: Logger, builds?: TemplateBuilds, volumes?: VolumeService, publicAccess?: PublicAccess): Hono {
  const app = jsonApiApp(log);
  // A COPY upload carries its own signed token instead of an API key, and its own size limit; so
  // does a volume's content (its token, any size).
  const isUpload = (c: Context) => c.req.path.startsWith(uploadPathPrefix) || c.req.path.startsWith(volumeContentPrefix);
  if (keys) {
    const check = apiKeyCheck(keys);
    app.use('*', (c, next) => (isUpload(c) ? next() : check(c, next)));
  }
  const limit = bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => {
      throw errors.bodyTooLarge(maxBodyBytes);
    },
  });
  app.use('*', async (c, next) => {
    if (isUpload(c)) return next();
    try {
      return await limit(c, next);
    } catch (err) {
      // Only the limit's own reading throws here (Hono answers a route's errors before they come
      // back up): a body the client stopped sending is its doing, not a server fault.
      throw err instanceof SandcastleError ? err : bodyCutShort(err);
    }
  });

  const create = async (c: Context) => {
    const body = parseBody(createSandboxBody, await readJson(c));
    refuseUnofferedCreateOptions(body);
    const rec = await sandboxes.create({
      templateId: body.templateID,
      timeoutSeconds: body.timeout,
      metadata: body.metadata ?? undefined,
      envVars: body.envVars ?? undefined,
      autoPause: body.autoPause,
      autoPauseMemory: body.autoPauseMemory ?? undefined,
      autoResume: body.autoResume?.enabled,
      allowInternetAccess: body.allow_internet_access,
      network: body.network,
      volumeMounts: body.volumeMounts ?? undefined,
    });
    const trafficAccessToken = publicAccess?.configure(rec.id, body.network) ?? null;
    return c.json({ ...sandboxJson(rec), trafficAccessToken }, 201);
  };
  app.post('/sandboxes', create);
  app.post('/v2/sandboxes', create);

  const list = (c: Context) => {
    const page = sandboxes.list({
      states: decodeStateFilter(c.req.queries('state') ?? []),
      metadata: decodeMetadataFilter(c.req.query('metadata')),
      limit: decodeLimit(c.req.query('limit')),
      nextToken: c.req.query('nextToken') || undefined,
      order: decodeOrder(c.req.query('order')),
      startedAfter: decodeStartedAfter(c.req.query('startedAfter')),
      template: c.req.query('template') || undefined,
    });
    if (page.nextToken) c.header('X-Next-Token', page.nextToken);
    c.header('X-Total-Running', String(page.totalRunning));
    return c.json(page.items.map((r) => listedSandboxJson(r, sandboxes.volumeMountsOf(r.id))));
  };
  app.get('/v2/sandboxes', list);
  app.get('/sandboxes', list);

  app.get('/sandboxes/:id', (c) => {
    const rec = sandboxes.get(c.req.param('id'));
    const detail = sandboxDetailJson(rec, sandboxes.volumeMountsOf(rec.id));
    const access = publicAccess?.networkInfo(rec.id);
    return c.json(access ? { ...detail, network: { ...detail.network, ...access } } : detail);
  });

  app.delete('/sandboxes/:id', async (c) => {
    const id = c.req.param('id');
    if (!(await sandboxes.kill(id))) throw errors.sandboxNotFound(id);
    return c.body(null, 204);
  });

  app.post('/sandboxes/:id/timeout', async (c) => {
    const body = parseBody(timeoutBody, await readJson(c));
    sandboxes.setTimeout(c.req.param('id'), body.timeout);
    return c.body(null, 204);
  });

  const connect = async (c: Context) => {
    const body = parseBody(connectBody, await readJson(c));
    const rec = await sandboxes.connect(c.req.param('id')!, body.timeout, body.memory === false);
    return c.json({ ...sandboxJson(rec), trafficAccessToken: publicAccess?.tokenOf(rec.id) ?? null }, 200);
  };
  app.post('/sandboxes/:id/connect', connect);
  app.post('/v2/sandboxes/:id/connect', connect);

  // Before the persistence routes: `DELETE /templates/tags` is not `DELETE /templates/:id`.
  if (builds) registerTemplateRoutes(app, builds, sandboxes);
  registerPersistenceRoutes(app, sandboxes, builds && ((id) => builds.deleteIfExists(id)), publicAccess);

  registerMetricsRoutes(app, sandboxes, metrics);
  registerLogRoutes(app, sandboxes);
  registerNetworkRoutes(app, sandboxes);
  if (volumes) registerVolumeRoutes(app, volumes);
  registerUnofferedRoutes(app);

  return app;
}
