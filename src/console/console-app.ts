// The web console at /dashboard: sign-in, the page shell and its bundled assets, the REST API for
// the signed-in page (the same API the SDKs call, with the session's key added), and the live
// streams (sandbox list figures, a sandbox's samples and state, terminals). HTTP in and out only:
// the work is done by the sandbox service and the API.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { errorBody, errors } from '../errors.js';
import type { Logger } from '../log.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { ApiKeyStore } from '../store/api-key-store.js';
import type { MetricsStore } from '../store/metrics-store.js';
import { consolePrefix, type ConsoleRoutes, newConsoleRoutes } from './console-routes.js';
import { appPage, safeNext, signInPage } from './pages.js';
import { ConsoleSessions, deletedKeyMessage, sessionCookie } from './sessions.js';
import { registerKeyRoutes } from './key-routes.js';
import { registerLiveRoutes } from './live-routes.js';
import { Terminals } from './terminals.js';

/** Largest body of the console's own requests (sign-in, keystrokes, a key's name); uploads and
 *  the API's requests have their own limits. */
const maxBodyBytes = 64 * 1024;
/** The sign-in form's `why` when a session ended because its key was deleted. */
const keyDeleted = 'key-deleted';

export interface ConsoleDeps {
  /** The control-plane API (its fetch): the page's REST calls go there with the session's key. */
  api: (req: Request) => Response | Promise<Response>;
  keys: ApiKeyStore | undefined;
  sandboxes: SandboxService;
  metrics: MetricsStore;
  /** Where `npm run build` put the bundled browser code (dist/console). */
  assetsDir: string;
  log: Logger;
}

export interface ConsoleApp {
  app: ConsoleRoutes;
  close(): Promise<void>;
}

const assetTypes: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export function createConsoleApp(deps: ConsoleDeps): ConsoleApp {
  const sessions = new ConsoleSessions(deps.keys);
  const terminals = new Terminals();
  const app = newConsoleRoutes();

  app.onError((err, c) => {
    const body = errorBody(err);
    if (body.code >= 500) deps.log.error({ err, path: c.req.path }, 'console request failed');
    return c.json(body, body.code as ContentfulStatusCode);
  });

  // The pages load only their own script and styles (xterm.js and uPlot set inline styles), and
  // no other site may frame them.
  app.use('*', async (c, next) => {
    await next();
    if (c.res.headers.get('content-type')?.startsWith('text/html')) {
      c.header('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'");
    }
  });

  const limit = bodyLimit({ maxSize: maxBodyBytes, onError: () => { throw errors.bodyTooLarge(maxBodyBytes); } });
  app.use('*', (c, next) => (c.req.path.startsWith(`${consolePrefix}/api/`) || c.req.path.endsWith('/files/upload') ? next() : limit(c, next)));

  // Only the server's own words appear on the form: `why` names one of them.
  app.get('/login', (c) => c.html(signInPage(safeNext(c.req.query('next')), c.req.query('why') === keyDeleted ? deletedKeyMessage : undefined)));
  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const key = typeof form.key === 'string' ? form.key.trim() : '';
    const next = safeNext(typeof form.next === 'string' ? form.next : undefined);
    const id = key ? sessions.open(key) : undefined;
    if (!id) {
      if (key) deps.log.warn('console sign-in refused: not a valid API key');
      const why = key ? 'That API key is not valid on this server. Check it, or make one with `sandcastle keys create`.' : 'Enter an API key.';
      return c.html(signInPage(next, why), 401);
    }
    // Over HTTPS (the public listener's TLS socket says `encrypted`) the cookie never goes out in clear.
    const secure = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket as { encrypted?: boolean } | undefined;
    setCookie(c, sessionCookie, id, { path: consolePrefix, httpOnly: true, sameSite: 'Strict', secure: secure?.encrypted === true });
    return c.redirect(next, 303);
  });
  app.post('/logout', (c) => {
    sessions.close(getCookie(c, sessionCookie));
    deleteCookie(c, sessionCookie, { path: consolePrefix });
    return c.redirect(`${consolePrefix}/login`, 303);
  });

  app.get('/assets/:file', async (c) => {
    const file = c.req.param('file');
    const type = assetTypes[path.extname(file)];
    if (!type || !/^[\w.-]+$/.test(file)) return c.json({ code: 404, message: `no console asset '${file}'` }, 404);
    try {
      return c.body(await readFile(path.join(deps.assetsDir, file)), 200, { 'content-type': type, 'cache-control': 'no-cache' });
    } catch {
      return c.json({ code: 404, message: `console asset '${file}' is missing: run \`npm run build\` (it bundles the console into ${deps.assetsDir})` }, 404);
    }
  });

  // Everything below needs a signed-in session. The key is looked up on every request, so a
  // deleted key signs its sessions out at once.
  const session = (c: Context) => sessions.check(getCookie(c, sessionCookie));
  app.use('*', async (c, next) => {
    const s = session(c);
    if (s.ok) {
      c.set('apiKey', s.key);
      return next();
    }
    deleteCookie(c, sessionCookie, { path: consolePrefix });
    const isPage = c.req.method === 'GET' && !c.req.path.startsWith(`${consolePrefix}/api/`) && !c.req.path.startsWith(`${consolePrefix}/live/`);
    if (isPage) {
      const url = new URL(c.req.url);
      const params = new URLSearchParams({ next: safeNext(url.pathname + url.search) });
      if (s.why === deletedKeyMessage) params.set('why', keyDeleted);
      return c.redirect(`${consolePrefix}/login?${params}`, 303);
    }
    return c.json({ code: 401, message: `${s.why}; sign in again at ${consolePrefix}/login` }, 401);
  });

  // The page's REST calls: `/dashboard/api/<path>` is the API's `/<path>` with the session's key.
  app.all('/api/*', async (c) => {
    const url = new URL(c.req.url);
    const target = new URL(url.pathname.slice(`${consolePrefix}/api`.length) + url.search, 'http://console.internal');
    const headers = new Headers();
    const type = c.req.header('content-type');
    if (type) headers.set('content-type', type);
    const key = c.get('apiKey');
    if (key) headers.set('x-api-key', key);
    const hasBody = c.req.method !== 'GET' && c.req.method !== 'HEAD';
    return deps.api(new Request(target, { method: c.req.method, headers, body: hasBody ? c.req.raw.body : undefined, duplex: 'half' } as RequestInit));
  });

  registerLiveRoutes(app, deps.sandboxes, deps.metrics, terminals);
  registerKeyRoutes(app, deps.keys);

  // Every other GET is a page of the console, drawn by its script.
  app.get('*', (c) => c.html(appPage(sessions.keysChecked)));

  return { app, close: () => terminals.closeAll() };
}
