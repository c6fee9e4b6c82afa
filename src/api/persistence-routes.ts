// Routes that save and restore sandbox state: pause, clone, snapshots (protocol §3.2).
import type { Context, Hono } from 'hono';
import { errorBody, errors } from '../errors.js';
import { envdVersion } from '../protocol.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import { decodeLimit } from './list-query.js';
import { sandboxJson } from './sandbox-json.js';
import { cloneBody, forkBody, parseBody, pauseBody, readJson } from './schemas.js';

/** `deleteTemplate` removes a user template by id or name, false when there is none: the route
 *  the SDKs delete snapshots with deletes templates too. */
export function registerPersistenceRoutes(app: Hono, sandboxes: SandboxService, deleteTemplate?: (id: string) => Promise<boolean>): void {
  app.post('/sandboxes/:id/pause', async (c) => {
    const id = c.req.param('id');
    const body = parseBody(pauseBody, await readJson(c));
    // 409 is how the SDKs learn "already paused" (pause() then returns false).
    if (!(await sandboxes.pause(id, body.memory !== false))) throw errors.sandboxAlreadyPaused(id);
    return c.body(null, 204);
  });

  app.post('/sandboxes/:id/clone', async (c: Context) => {
    const body = parseBody(cloneBody, await readJson(c));
    const clones = await sandboxes.clone(c.req.param('id')!, { count: body.count, strict: body.strict, timeoutSeconds: body.timeout });
    return c.json(
      {
        // No clientID: the SDK would append it to the id.
        sandboxes: clones.map((r) => ({ sandboxID: r.id, envdVersion, envdAccessToken: r.envdToken, trafficAccessToken: null })),
      },
      201,
    );
  });

  // One entry per fork, in order: the sandbox, or the error that kept it from starting.
  app.post('/sandboxes/:id/fork', async (c: Context) => {
    const body = parseBody(forkBody, await readJson(c));
    const results = await sandboxes.fork(c.req.param('id')!, { count: body.count, timeoutSeconds: body.timeout });
    return c.json(
      results.map((r) => (r.status === 'fulfilled' ? { sandbox: sandboxJson(r.value) } : { error: errorBody(r.reason) })),
      201,
    );
  });

  app.post('/sandboxes/:id/snapshots', async (c) => {
    const snapshot = await sandboxes.createSnapshot(c.req.param('id'));
    return c.json({ snapshotID: snapshot.id, names: [snapshot.id] }, 201);
  });

  app.get('/snapshots', (c) => {
    const page = sandboxes.listSnapshots(c.req.query('sandboxID') || undefined, decodeLimit(c.req.query('limit')), c.req.query('nextToken') || undefined);
    if (page.nextToken) c.header('X-Next-Token', page.nextToken);
    return c.json(page.items.map((s) => ({ snapshotID: s.id, names: [s.id] })));
  });

  app.delete('/templates/:id', async (c) => {
    const id = c.req.param('id');
    if (deleteTemplate && (await deleteTemplate(id))) return c.body(null, 204);
    if (!(await sandboxes.deleteSnapshot(id))) throw deleteTemplate ? errors.templateNotFound(id) : errors.snapshotNotFound(id);
    return c.body(null, 204);
  });
}
