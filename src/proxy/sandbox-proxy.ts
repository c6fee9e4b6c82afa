// Forwards envd (and later code-interpreter and user-port) traffic to the sandbox it names.
// Requests carry `Novita-Sandbox-Id`/`E2b-Sandbox-Id` and `…-Sandbox-Port` headers (protocol §2.3).
import http from 'node:http';
import type { SandboxService } from '../sandboxes/sandbox-service.js';

const sandboxIdHeaders = ['novita-sandbox-id', 'e2b-sandbox-id'] as const;
const sandboxPortHeaders = ['novita-sandbox-port', 'e2b-sandbox-port'] as const;
const defaultPort = 49983;

// Hop-by-hop headers are not forwarded (RFC 9110 §7.6.1).
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

export function sandboxIdOf(req: http.IncomingMessage): string | undefined {
  for (const name of sandboxIdHeaders) {
    const v = req.headers[name];
    if (typeof v === 'string' && v !== '') return v.split(',')[0]!.trim();
  }
  return undefined;
}

function portOf(req: http.IncomingMessage): number | undefined {
  for (const name of sandboxPortHeaders) {
    const v = req.headers[name];
    if (typeof v === 'string' && v !== '') {
      const port = Number(v.split(',')[0]);
      return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
    }
  }
  return defaultPort;
}

function sendError(res: http.ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ code: status, message });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export class SandboxProxy {
  private readonly agent = new http.Agent({ keepAlive: true, maxFreeSockets: 64, scheduling: 'lifo' });
  /** Open upstream requests per sandbox, cut when the sandbox goes away. */
  private readonly open = new Map<string, Set<http.ClientRequest>>();

  constructor(private readonly sandboxes: SandboxService) {
    sandboxes.on('stopping', (id) => this.cut(id));
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse, sandboxId: string): void {
    const port = portOf(req);
    if (port === undefined) {
      sendError(res, 400, `sandbox port header must be a number between 1 and 65535`);
      return;
    }
    this.sandboxes.routeForTraffic(sandboxId).then(
      (route) => {
        if (route) this.forward(req, res, sandboxId, route.address, port);
        // 502 is what the SDKs read as "the sandbox is gone" (unavailable / isRunning() false).
        else sendError(res, 502, `sandbox '${sandboxId}' ${this.sandboxes.route(sandboxId) ? 'is not running' : 'was not found'}`);
      },
      (err: Error) => sendError(res, 502, `sandbox '${sandboxId}': ${err.message}`),
    );
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, sandboxId: string, address: string, port: number): void {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!hopByHop.has(name) && value !== undefined) headers[name] = value;
    }
    const upstream = http.request({
      host: address,
      port,
      method: req.method,
      path: req.url,
      headers,
      agent: this.agent,
    });
    this.track(sandboxId, upstream);
    upstream.on('response', (up) => {
      const outHeaders: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(up.headers)) {
        if (!hopByHop.has(name) && value !== undefined) outHeaders[name] = value;
      }
      res.writeHead(up.statusCode ?? 502, outHeaders);
      res.flushHeaders();
      up.pipe(res);
      // An upstream that dies mid-body must not look like a complete answer to the client.
      up.on('aborted', () => res.destroy());
      up.on('error', () => res.destroy());
    });
    upstream.on('error', (err) => {
      sendError(res, 502, `sandbox '${sandboxId}' port ${port} is not reachable: ${err.message}`);
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  private track(id: string, upstream: http.ClientRequest): void {
    let set = this.open.get(id);
    if (!set) this.open.set(id, (set = new Set()));
    set.add(upstream);
    upstream.on('close', () => {
      set.delete(upstream);
      if (set.size === 0 && this.open.get(id) === set) this.open.delete(id);
    });
  }

  private cut(id: string): void {
    for (const upstream of this.open.get(id) ?? []) upstream.destroy(new Error(`sandbox '${id}' is being killed`));
  }

  close(): void {
    this.agent.destroy();
  }
}
