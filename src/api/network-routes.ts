// PUT /sandboxes/{id}/network (protocol §3.2): replaces a sandbox's outbound rules while it runs.
// Omitting both lists clears the rules, as the SDK documents.
import type { Hono } from 'hono';
import { errors } from '../errors.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import { networkRulesBody, parseBody } from './schemas.js';

export function registerNetworkRoutes(app: Hono, sandboxes: SandboxService): void {
  app.put('/sandboxes/:id/network', async (c) => {
    const text = await c.req.text();
    let json: unknown = {};
    try {
      if (text.trim() !== '') json = JSON.parse(text);
    } catch (err) {
      throw errors.invalidJson((err as Error).message);
    }
    const body = parseBody(networkRulesBody, json);
    await sandboxes.updateNetwork(c.req.param('id'), { allowOut: body.allowOut ?? [], denyOut: body.denyOut ?? [] });
    return c.body(null, 204);
  });
}
