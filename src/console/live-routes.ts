// What the console's pages watch: the sandbox table's rows with their latest figures, one
// sandbox's state, samples and lifecycle log as a server-sent event stream, and terminals.
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { entriesOf } from '../api/log-routes.js';
import { decodeMetadataFilter, decodeStateFilter, maxListLimit } from '../api/list-query.js';
import { listedSandboxJson } from '../api/sandbox-json.js';
import { sandboxMetricJson } from '../api/metrics-routes.js';
import { errors, SandcastleError } from '../errors.js';
import { envdPort } from '../protocol.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { SandboxRecord } from '../store/sandbox-store.js';
import type { MetricsStore } from '../store/metrics-store.js';
import { ConnectError, Code } from '@connectrpc/connect';
import { download, listDir, upload, type EnvdTarget } from './sandbox-files.js';
import type { Terminals } from './terminals.js';
import type { ConsoleRoutes } from './console-routes.js';

/** How often a sandbox's stream looks for new samples and state: well inside the 2.5 s a chart
 *  update may take after its sample (samples come every 2 s). */
const pollMs = 500;
/** The samples a sandbox page starts with. */
const historyMs = 10 * 60 * 1000;
/** A sample older than this is not "now" (the sandbox is paused or the sampler is behind). */
const nowWindowMs = 10_000;

function sandboxRow(rec: SandboxRecord, metrics: MetricsStore, now: number) {
  const latest = rec.state === 'running' ? metrics.list(rec.id, now - nowWindowMs).at(-1) : undefined;
  return {
    ...listedSandboxJson(rec),
    // The finer state (pausing, resuming) the table shows beside the API's running/paused.
    phase: rec.state,
    now: latest ? { cpuUsedPct: Math.round(latest.cpuUsedPct * 10) / 10, memUsed: latest.memUsed, memTotal: latest.memTotal } : null,
  };
}

function findSandbox(sandboxes: SandboxService, id: string): SandboxRecord | undefined {
  try {
    return sandboxes.get(id);
  } catch (err) {
    if (err instanceof SandcastleError && err.code === 'SANDBOX_NOT_FOUND') return undefined;
    throw err;
  }
}

function intParam(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw errors.badRequest(`${name} must be an integer between ${min} and ${max}, got '${value}'`);
  return n;
}

/** Where the sandbox's envd answers; a sandbox that is not running is refused (not resumed). */
async function envdTarget(sandboxes: SandboxService, id: string): Promise<EnvdTarget> {
  const rec = findSandbox(sandboxes, id);
  if (!rec) throw errors.sandboxNotFound(id);
  if (rec.state !== 'running') throw errors.sandboxNotRunning(id, rec.state);
  const route = await sandboxes.routeTraffic(id, envdPort);
  if ('error' in route) throw route.error;
  return { address: route.address, accessToken: rec.envdToken };
}

/** envd's refusal of a file operation, with its status and word. */
function envdRefusal(err: unknown): { code: 400 | 404 | 502; message: string } {
  if (!(err instanceof ConnectError)) throw err;
  const code = err.code === Code.NotFound ? 404 : err.code === Code.InvalidArgument || err.code === Code.FailedPrecondition ? 400 : 502;
  return { code, message: err.rawMessage };
}

/** envd's /files answer passed on: its body streamed, or its error as JSON. */
async function passOn(res: Response, headers: Record<string, string>): Promise<Response> {
  if (res.ok) return new Response(res.body, { status: res.status, headers: { ...headers, 'content-type': res.headers.get('content-type') ?? 'application/octet-stream' } });
  const text = await res.text();
  let message = text;
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    // Not JSON: the text is the message.
  }
  return Response.json({ code: res.status, message }, { status: res.status });
}

const send = (stream: SSEStreamingApi, event: string, data: unknown) => stream.writeSSE({ event, data: JSON.stringify(data) });

export function registerLiveRoutes(app: ConsoleRoutes, sandboxes: SandboxService, metrics: MetricsStore, terminals: Terminals): void {
  app.get('/live/sandboxes', (c) => {
    const query = {
      states: decodeStateFilter(c.req.queries('state') ?? []),
      metadata: decodeMetadataFilter(c.req.query('metadata')),
      template: c.req.query('template') || undefined,
    };
    const now = Date.now();
    const rows = [];
    let nextToken: string | undefined;
    let totalRunning = 0;
    do {
      const page = sandboxes.list({ ...query, limit: maxListLimit, nextToken });
      rows.push(...page.items.map((r) => sandboxRow(r, metrics, now)));
      totalRunning = page.totalRunning;
      nextToken = page.nextToken;
    } while (nextToken);
    return c.json({ sandboxes: rows, totalRunning });
  });

  // Events: `sandbox` (its row, whenever it changes), `samples` (new ones, oldest first), `log`
  // (new lifecycle entries), and `gone` once it is killed; the stream ends then.
  app.get('/live/sandboxes/:id/stream', (c) => {
    const id = c.req.param('id');
    if (!findSandbox(sandboxes, id)) throw errors.sandboxNotFound(id);
    return streamSSE(c, async (stream) => {
      let lastRow = '';
      let lastSampleAt = Date.now() - historyMs;
      let logCount = 0;
      while (!stream.aborted) {
        const rec = findSandbox(sandboxes, id);
        if (!rec) {
          await send(stream, 'gone', { message: `sandbox ${id} was killed (or timed out); it no longer exists` });
          break;
        }
        const row = JSON.stringify(sandboxRow(rec, metrics, Date.now()));
        if (row !== lastRow) {
          await stream.writeSSE({ event: 'sandbox', data: row });
          lastRow = row;
        }
        const samples = metrics.list(id, lastSampleAt + 1);
        if (samples.length > 0) {
          lastSampleAt = samples.at(-1)!.at;
          await send(stream, 'samples', samples.map(sandboxMetricJson));
        }
        const log = sandboxes.history(id).flatMap((op) => entriesOf(id, op)).sort((a, b) => a.timestamp - b.timestamp);
        if (log.length !== logCount) {
          await send(stream, 'log', log.slice(logCount).map((e) => ({ ...e, timestamp: new Date(e.timestamp).toISOString() })));
          logCount = log.length;
        }
        await stream.sleep(pollMs);
      }
    });
  });

  // A terminal: `ready` (its id, for input and resize), `data` (base64 output), then `end` with
  // why; or at once `paused` when the sandbox is not running (the page offers to resume it).
  app.get('/live/sandboxes/:id/terminal', (c) => {
    const id = c.req.param('id');
    const rec = findSandbox(sandboxes, id);
    if (!rec) throw errors.sandboxNotFound(id);
    const size = { cols: intParam(c.req.query('cols'), 'cols', 2, 1000, 80), rows: intParam(c.req.query('rows'), 'rows', 2, 1000, 24) };
    return streamSSE(c, async (stream) => {
      if (rec.state !== 'running') {
        await send(stream, 'paused', { message: `sandbox ${id} is ${rec.state}; resume it to use its terminal`, state: rec.state });
        return;
      }
      const route = await sandboxes.routeTraffic(id, envdPort);
      if ('error' in route) {
        await send(stream, 'end', { message: route.error.message });
        return;
      }
      let ended: (why: string) => void = () => undefined;
      const done = new Promise<string>((resolve) => (ended = resolve));
      // Output goes out in order, one event after the other.
      let written = Promise.resolve();
      let terminalId: string;
      try {
        terminalId = await terminals.start(id, route.address, rec.envdToken, size, {
          onData: (bytes) => {
            written = written.then(() => stream.writeSSE({ event: 'data', data: Buffer.from(bytes).toString('base64') }));
          },
          onEnd: ended,
        });
      } catch (err) {
        await send(stream, 'end', { message: (err as Error).message });
        return;
      }
      // The page may have left while the shell started.
      if (stream.aborted) return void (await terminals.close(terminalId));
      stream.onAbort(() => void terminals.close(terminalId));
      await send(stream, 'ready', { terminalId });
      const why = await done;
      await written;
      if (!stream.aborted) await send(stream, 'end', { message: why });
    });
  });

  app.get('/live/sandboxes/:id/files', async (c) => {
    const target = await envdTarget(sandboxes, c.req.param('id'));
    try {
      return c.json(await listDir(target, c.req.query('path') || '~'));
    } catch (err) {
      const r = envdRefusal(err);
      return c.json(r, r.code);
    }
  });

  app.get('/live/sandboxes/:id/files/download', async (c) => {
    const file = c.req.query('path');
    if (!file) throw errors.badRequest('path is required: the file to download');
    const target = await envdTarget(sandboxes, c.req.param('id'));
    const name = file.split('/').pop() || 'download';
    return passOn(await download(target, file, c.req.raw.signal), { 'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name)}` });
  });

  app.post('/live/sandboxes/:id/files/upload', async (c) => {
    const file = c.req.query('path');
    if (!file) throw errors.badRequest('path is required: where the file goes');
    const target = await envdTarget(sandboxes, c.req.param('id'));
    if (!c.req.raw.body) throw errors.badRequest('the upload has no body');
    return passOn(await upload(target, file, c.req.raw.body), {});
  });

  app.post('/live/terminals/:tid/input', async (c) => {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (!(await terminals.input(c.req.param('tid'), bytes))) return c.json({ code: 404, message: 'this terminal has ended; open it again' }, 404);
    return c.body(null, 204);
  });

  app.post('/live/terminals/:tid/resize', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { cols?: string; rows?: string };
    const size = { cols: intParam(String(body.cols ?? ''), 'cols', 2, 1000, 80), rows: intParam(String(body.rows ?? ''), 'rows', 2, 1000, 24) };
    if (!(await terminals.resize(c.req.param('tid'), size))) return c.json({ code: 404, message: 'this terminal has ended; open it again' }, 404);
    return c.body(null, 204);
  });
}
