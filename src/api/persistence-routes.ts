// Routes that save and restore sandbox state: pause, clone, snapshots (protocol §3.2).
import type { Context, Hono } from 'hono';
import { errorBody, errors } from '../errors.js';
import { envdVersion } from '../protocol.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { SnapshotRecord } from '../store/snapshot-store.js';
import { decodeLimit } from './list-query.js';
import type { PublicAccess } from '../proxy/public-access.js';
import { sandboxJson } from './sandbox-json.js';
import { cloneBody, forkBody, parseBody, pauseBody, readJson, snapshotBody } from './schemas.js';

/** A snapshot as the SDKs read it: the id creates from it, and so does each name (the name
 *  given, tagged as the hosted product's full names are). */
function snapshotJson(s: SnapshotRecord) {
  return { snapshotID: s.id, names: s.name ? [`${s.name}:default`] : [s.id] };
}

/** `deleteTemplate` removes a user template by id or name, false when there is none: the route
 *  the SDKs delete snapshots with deletes templates too. */
export function registerPersistenceRoutes(app: Hono, sandboxes: SandboxService, deleteTemplate?: (id: string) => Promise<boolean>, publicAccess?: PublicAccess): void {
  // Clones and forks keep their source's public-URL policy, each with a token of its own.
  const inherit = (sourceId: string, id: string) => publicAccess?.inherit(sourceId, id) ?? null;
  app.post('/sandboxes/:id/pause', async (c) => {
    const id = c.req.param('id');
    const body = parseBody(pauseBody, await readJson(c));
    // 409 is how the SDKs learn "already paused" (pause() then returns false).
    if (!(await sandboxes.pause(id, body.memory !== false))) throw errors.sandboxAlreadyPaused(id);
    return c.body(null, 204);
  });

  app.post('/sandboxes/:id/clone', async (c: Context) => {
    const body = parseBody(cloneBody, await readJson(c));
    const id = c.req.param('id')!;
    const clones = await sandboxes.clone(id, { count: body.count, strict: body.strict, timeoutSeconds: body.timeout });
    return c.json(
      {
        // No clientID: the SDK would append it to the id.
        sandboxes: clones.map((r) => ({ sandboxID: r.id, envdVersion, envdAccessToken: r.envdToken, trafficAccessToken: inherit(id, r.id) })),
      },
      201,
    );
  });

  // One entry per fork, in order: the sandbox, or the error that kept it from starting.
  app.post('/sandboxes/:id/fork', async (c: Context) => {
    const body = parseBody(forkBody, await readJson(c));
    const id = c.req.param('id')!;
    const results = await sandboxes.fork(id, { count: body.count, timeoutSeconds: body.timeout });
    return c.json(
      results.map((r) =>
        r.status === 'fulfilled' ? { sandbox: { ...sandboxJson(r.value), trafficAccessToken: inherit(id, r.value.id) } } : { error: errorBody(r.reason) },
      ),
      201,
    );
  });

  app.post('/sandboxes/:id/snapshots', async (c) => {
    const body = parseBody(snapshotBody, await readJson(c));
    const snapshot = await sandboxes.createSnapshot(c.req.param('id'), body.name || undefined);
    return c.json(snapshotJson(snapshot), 201);
  });

  app.get('/snapshots', (c) => {
    const q = (name: string) => c.req.query(name) || undefined;
    const page = sandboxes.listSnapshots(q('sandboxID'), decodeLimit(q('limit')), q('nextToken'), q('name'));
    if (page.nextToken) c.header('X-Next-Token', page.nextToken);
    return c.json(page.items.map(snapshotJson));
  });

  app.delete('/templates/:id', async (c) => {
    const id = c.req.param('id');
    if (deleteTemplate && (await deleteTemplate(id))) return c.body(null, 204);
    if (!(await sandboxes.deleteSnapshot(id))) throw deleteTemplate ? errors.templateNotFound(id) : errors.snapshotNotFound(id);
    return c.body(null, 204);
  });
}
