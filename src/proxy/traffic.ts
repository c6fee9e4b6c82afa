// What both proxies (SDK headers on the API port, host names on the public ports) share: whether
// a sandbox may take traffic and, if not, which error says why (src/errors.ts renders it), and the
// tracking of open connections per sandbox so a kill or pause can cut them.
import type { EventEmitter } from 'node:events';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { TrafficRoute } from '../sandboxes/traffic-routes.js';

export type Target = TrafficRoute;

/** One call into the lifecycle: the sandbox's address, or the error that says why not. */
export function trafficTarget(sandboxes: SandboxService, sandboxId: string, port: number): Promise<Target> {
  return sandboxes.routeTraffic(sandboxId, port);
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
