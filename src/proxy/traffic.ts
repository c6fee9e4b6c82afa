// What both proxies (SDK headers on the API port, host names on the public ports) share: whether
// a sandbox may take traffic and, if not, which error says why (JSON `{code, message, sandboxId,
// port}` for programs, a small HTML page for browsers, as the hosted product answers), and the
// tracking of open connections per sandbox so a kill or pause can cut them.
import type { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type { SandcastleError } from '../errors.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { TrafficRoute } from '../sandboxes/traffic-routes.js';

export type Target = TrafficRoute;

/** One call into the lifecycle: the sandbox's address, or the error that says why not. */
export function trafficTarget(sandboxes: SandboxService, sandboxId: string, port: number): Promise<Target> {
  return sandboxes.routeTraffic(sandboxId, port);
}

const browser = /mozilla|chrome|safari|firefox|edge|opera|msie/i;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Status, headers and body of an error answer. */
export function errorResponse(err: SandcastleError, userAgent: string | undefined, where: { sandboxId?: string; port?: number }) {
  if (userAgent && browser.test(userAgent)) {
    const body = `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${err.status} — Sandcastle</title></head>\n<body><h1>${err.status}</h1><p>${escapeHtml(err.message)}</p></body></html>\n`;
    return { status: err.status, type: 'text/html; charset=utf-8', body };
  }
  const body = JSON.stringify({ code: err.status, message: err.message, ...where });
  return { status: err.status, type: 'application/json', body };
}

/** The error answer as a whole HTTP/1.1 message that closes the connection, for a client socket
 *  the proxy answers itself (before a relay, or refusing an upgrade). */
export function rawErrorResponse(err: SandcastleError, userAgent: string | undefined, where: { sandboxId?: string; port?: number }): string {
  const r = errorResponse(err, userAgent, where);
  return `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? ''}\r\ncontent-type: ${r.type}\r\ncontent-length: ${Buffer.byteLength(r.body)}\r\nconnection: close\r\n\r\n${r.body}`;
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
