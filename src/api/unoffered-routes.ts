// What the e2b SDK can ask for that Sandcastle does not offer yet: secrets (`Secret.*`, /secrets),
// workload identity (`iam` on create) and the MCP gateway (`mcp` on create). Each answers 501
// with the SDK's error body and a message that says so, instead of a 404 that reads like a typo
// or a create that silently drops the option.
import type { Hono } from 'hono';
import { errors } from '../errors.js';

export function registerUnofferedRoutes(app: Hono): void {
  const secrets = () => {
    throw errors.notOffered('secrets (Secret.create, Secret.list, /secrets)');
  };
  app.all('/secrets', secrets);
  app.all('/secrets/*', secrets);
}

/** Create options that need what Sandcastle does not offer: a 501 before anything is made. */
export function refuseUnofferedCreateOptions(body: Record<string, unknown>): void {
  if (body.iam != null) throw errors.notOffered("workload identity tokens (create's `iam` option)");
  if (body.mcp != null) throw errors.notOffered("MCP gateways (create's `mcp` option)");
}
