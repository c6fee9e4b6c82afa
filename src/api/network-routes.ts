// PUT /sandboxes/{id}/network (protocol §3.2): replaces a sandbox's outbound rules while it runs.
// Omitting both lists clears the rules, as the SDK documents.
import type { Hono } from 'hono';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import { networkRulesBody, parseBody, readJson } from './schemas.js';

export function registerNetworkRoutes(app: Hono, sandboxes: SandboxService): void {
  app.put('/sandboxes/:id/network', async (c) => {
    const body = parseBody(networkRulesBody, await readJson(c));
    await sandboxes.updateNetwork(c.req.param('id'), body);
    return c.body(null, 204);
  });
}
