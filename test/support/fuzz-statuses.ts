// The HTTP statuses each surface is documented to answer with; anything else (a 500 above all) is
// a fuzz failure.
import { errorCatalogue } from '../../src/errors.js';

/** The control plane's successes: 200 (get, list, connect), 201 (create, clone, snapshot), 204. */
const controlPlaneSuccess = [200, 201, 204];

/** Every coded error of src/errors.ts except the 500s, which mean a bug when a request caused
 *  them (start/pause/resume/clone failures are the server's own faults, never the client's). */
const catalogue = [...new Set(Object.values(errorCatalogue))].filter((s) => s !== 500);

/** Node's HTTP server refusing a request before any handler sees it: unparseable (400), head too
 *  large (431), chunk extensions too large (413), an Expect other than 100-continue (417), head or
 *  request too slow (408). */
const nodeHttpServer = [400, 408, 413, 417, 431];

/** Connect codes as connect-node maps them to HTTP (connect's protocol-connect/http-status.js),
 *  without unknown/internal/data_loss (500), plus its protocol errors: method not allowed (405),
 *  unsupported media type (415), HTTP version not supported (505). */
const connectStatuses = [400, 401, 403, 404, 409, 429, 499, 501, 503, 504, 405, 415, 505];

/** envd's REST endpoints (src/envd/http/files-http.ts, server.ts): bad request, no or wrong token,
 *  permission denied, not found, wrong method, no acceptable encoding, disk full. */
const envdRest = [200, 204, 400, 401, 403, 404, 405, 406, 507];

/** What the API port answers for sandbox traffic itself (src/proxy/sandbox-proxy.ts, traffic.ts):
 *  bad port header (400), unknown sandbox (404, 502 on envd's port), paused (409), gone (502). */
const sandboxProxy = [400, 404, 409, 502];

/** The public listener's own answers (src/proxy/public-proxy.ts): bad host or request line (400),
 *  unknown sandbox (404), paused (409), head too large (431), nothing listening or gone (502). */
const publicProxy = [400, 404, 409, 431, 502];

/** The web console on the bare `{domain}` (src/console): `/` redirects to `/dashboard` (302); its
 *  pages and sign-in answer 200, 303 (after a form), 401 (no session) and 404. */
const webConsole = [200, 302, 303, 401, 404];

export const documentedStatuses = {
  api: new Set([...controlPlaneSuccess, ...catalogue, ...nodeHttpServer]),
  envd: new Set([...envdRest, ...connectStatuses, ...sandboxProxy, ...nodeHttpServer]),
  public: new Set([...publicProxy, ...webConsole, ...envdRest, ...connectStatuses, ...nodeHttpServer]),
} as const;

export type Surface = keyof typeof documentedStatuses;
