// What both proxies (SDK headers on the API port, host names on the public ports) share: whether
// a sandbox may take traffic and, if not, which error says why (src/errors.ts renders it), and the
// tracking of open connections per sandbox so a kill or pause can cut them.
import type { EventEmitter } from 'node:events';
import { errors, type ErrorPlace, type SandcastleError } from '../errors.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';

/** Told of every sandbox a proxy routes to, so that its later requests can bypass Node (the
 *  HAProxy data plane). */
export interface Admission {
  admit(sandboxId: string, address: string): void;
}

export type Target = { address: string } | { error: SandcastleError; where: ErrorPlace };

/** One call into the lifecycle: the sandbox's address, or the error that says why not and where
 *  the traffic was going. A sandbox that is paused, unknown or gone answers 502 on every port, as
 *  the hosted product does: the SDKs read a 502 from envd as "not running" (isRunning() → false),
 *  and the body says which. */
export async function trafficTarget(sandboxes: SandboxService, sandboxId: string, port: number): Promise<Target> {
  const route = await sandboxes.routeTraffic(sandboxId, port);
  if (!('error' in route)) return route;
  const err = route.error;
  if (err.code === 'SANDBOX_NOT_FOUND' || err.message === errors.sandboxGone(sandboxId, 'not found').message) {
    return { error: errors.sandboxTrafficNotFound(), where: { sandboxId } };
  }
  if (err.code === 'SANDBOX_PAUSED') return { error: errors.sandboxTrafficPaused(err.message), where: { sandboxId, port } };
  return { error: err, where: { sandboxId, port } };
}

/** Keeps `item` in the set of sandbox `id` until it closes (so a kill or pause can cut it). */
export function trackUntilClose<T extends EventEmitter>(map: Map<string, Set<T>>, id: string, item: T): void {
  let set = map.get(id);
  if (!set) map.set(id, (set = new Set()));
  set.add(item);
  item.once('close', () => {
    set.delete(item);
    if (set.size === 0 && map.get(id) === set) map.delete(id);
  });
}
