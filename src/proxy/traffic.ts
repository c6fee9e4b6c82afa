// What both proxies (SDK headers on the API port, host names on the public ports) decide before
// forwarding: may this sandbox take traffic, and if not, which error says why. Errors are JSON
// `{code, message, sandboxId, port}` for programs and a small HTML page for browsers, as the hosted
// product answers.
import { describe, errors, type SandcastleError } from '../errors.js';
import { envdPort } from '../sandboxes/envd-client.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';

export type Target = { address: string } | { error: SandcastleError };

export async function trafficTarget(sandboxes: SandboxService, sandboxId: string, port: number): Promise<Target> {
  let route;
  try {
    route = await sandboxes.routeForTraffic(sandboxId);
  } catch (err) {
    return { error: errors.sandboxGone(sandboxId, `not available: ${describe(err)}`) };
  }
  if (route) return { address: route.address };
  const state = sandboxes.route(sandboxId)?.state;
  if (state === undefined) {
    // The SDKs read a 502 on envd's port as "the sandbox is not running" (isRunning() → false).
    return { error: port === envdPort ? errors.sandboxGone(sandboxId, 'not found') : errors.sandboxNotFound(sandboxId) };
  }
  if (state === 'paused' || state === 'pausing') return { error: errors.sandboxPaused(sandboxId) };
  return { error: errors.sandboxGone(sandboxId, state === 'killing' ? 'being killed' : `${state}, not running`) };
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
