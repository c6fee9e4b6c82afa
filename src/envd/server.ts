// envd's HTTP surface on one port (protocol §4). The core endpoints (/health, /init, /envs) are
// served at once; /files and Connect-RPC live in services.ts, loaded once envd is listening so
// that listening is not delayed by it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tokenAccepted, unauthorizedMessage } from './auth.js';
import { header, readJson, sendError, sendJson } from './http/http-util.js';
import { publishEnv } from './http/published-env.js';
import { envdLog } from './envd-log.js';
import { lingerWhileBodiesArrive } from '../lingering-close.js';
import { applyInit, state, type InitBody } from './state.js';

async function init(req: IncomingMessage, res: ServerResponse): Promise<void> {
  // Once a token is set, only its holder may re-initialise (e.g. hand over a new token after a restore).
  if (!tokenAccepted(header(req, 'x-access-token'))) return sendError(res, 401, unauthorizedMessage);
  let body: unknown;
  try {
    body = await readJson(req);
  } catch (err) {
    return sendError(res, 400, `invalid /init body: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null) return sendError(res, 400, 'invalid /init body: expected an object');
  const problem = applyInit(body as InitBody);
  if (problem) return sendError(res, 400, `invalid /init body: ${problem}`);
  try {
    await publishEnv(state.envVars);
  } catch (err) {
    return sendError(res, 500, `cannot publish the sandbox environment: ${(err as Error).message}`);
  }
  envdLog('info', 'initialised by the server', { envVars: Object.keys(state.envVars).length });
  res.writeHead(204).end();
}

let services: Promise<typeof import('./services.js')> | undefined;

/** Loads the file API and RPC services (once). */
export function loadServices(): Promise<typeof import('./services.js')> {
  return (services ??= import('./services.js'));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://envd');
  const route = `${req.method} ${url.pathname}`;
  if (route === 'GET /health' || route === 'POST /init') {
    // The server checks health and sends /init just before handing the sandbox out: load the
    // services now, once this reply is on its way, so the first command need not wait.
    res.once('finish', () => setImmediate(() => void loadServices()));
    return route === 'POST /init' ? init(req, res) : void res.writeHead(204).end();
  }
  if (route === 'GET /envs') {
    if (!tokenAccepted(header(req, 'x-access-token'))) return sendError(res, 401, unauthorizedMessage);
    return sendJson(res, 200, state.envVars);
  }
  return (await loadServices()).handleServices(req, res, url);
}

export function createEnvdServer(): Server {
  // No limit on how long a request may take: uploads can be large and streams long.
  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else sendError(res, 500, `internal error: ${(err as Error).message}`);
    });
  });
  lingerWhileBodiesArrive(server);
  return server;
}
