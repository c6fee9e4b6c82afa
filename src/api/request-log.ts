// One log line per API request when it finishes: what was asked (method and route pattern, so lines
// group by endpoint), how it ended (status, duration) and which sandbox it was about; a failure
// carries its error, and a 5xx its stack and causes.
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from '../log.js';

/** Must be registered first (on `*`), so it also times and sees requests that later middleware
 *  refuses. */
export function requestLog(log: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    const status = c.res.status;
    const route = handlerRoute(c);
    const line = {
      method: c.req.method,
      ...(route ? { route } : { path: c.req.path }),
      status,
      durationMs,
      ...(route ? sandboxIdOf(route, c.req.path) : {}),
    };
    const msg = `${line.method} ${route ?? c.req.path} ${status}`;
    if (status >= 500) log.error({ ...line, err: c.error }, msg);
    else if (status >= 400) log.info({ ...line, error: c.error?.message }, msg);
    else log.info(line, msg);
  };
}

/** The pattern of the route that answered (`/sandboxes/:id`), taken from the last matched route so
 *  it is known even when a middleware (the key check) refused the request. Middleware is
 *  registered on `*` (kept by Hono as `/*`): a request matching only that had no route (404). */
function handlerRoute(c: Context): string | undefined {
  const route = routePath(c, -1);
  return route === '/*' || route === '' ? undefined : route;
}

/** The sandbox a `/sandboxes/:id…` route is about: the path segment where the pattern has `:id`. */
function sandboxIdOf(route: string, path: string): { sandboxId?: string } {
  const at = route.split('/').indexOf(':id');
  if (at < 0 || route.split('/')[at - 1] !== 'sandboxes') return {};
  const segment = path.split('/')[at];
  if (!segment) return {};
  try {
    return { sandboxId: decodeURIComponent(segment) };
  } catch {
    return { sandboxId: segment };
  }
}
