// Forwards traffic that arrives on the API port to the sandbox it names: by the SDK's
// `Novita-Sandbox-Id`/`E2b-Sandbox-Id` and `…-Sandbox-Port` headers (protocol §2.3), or by a Host
// of the form `{port}-{id}.{domain}`. WebSocket and other upgrades are relayed as raw bytes.
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { errors, rawHttpError, renderError, type ErrorPlace, type SandcastleError } from '../errors.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import { envdPort, sandboxIdHeaders, sandboxPortHeaders } from '../protocol.js';
import { fileSignature, signedFileQuery } from '../envd/file-signature.js';
import { trafficTokenHeader, type PublicAccess } from './public-access.js';
import { trackUntilClose, trafficTarget, type Admission } from './traffic.js';
import { RelayMeter } from '../metrics/prometheus-hooks.js';

// Hop-by-hop headers are not forwarded (RFC 9110 §7.6.1).
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

/** Options of the Node servers whose requests this relays (the API port's, the public URLs'
 *  parsing one). A kept-alive connection outlives the SDKs' idle pools. A request body may take
 *  as long as it takes (files, volume content, a sandbox's streaming upload), as envd and HAProxy
 *  let it: Node's default cut the whole request at 5 minutes with a 408. Heads must still arrive
 *  within Node's headersTimeout. */
export const relayingServerOptions: http.ServerOptions = { keepAliveTimeout: 65_000, requestTimeout: 0 };

export function sandboxIdOf(req: http.IncomingMessage): string | undefined {
  for (const name of sandboxIdHeaders) {
    const v = req.headers[name];
    if (typeof v === 'string' && v !== '') return v.split(',')[0]!.trim();
  }
  return undefined;
}

/** The port the SDK headers name (envd's when none); undefined when the header is not a port. */
export function portOf(req: http.IncomingMessage): number | undefined {
  for (const name of sandboxPortHeaders) {
    const v = req.headers[name];
    if (typeof v === 'string' && v !== '') {
      const port = Number(v.split(',')[0]);
      return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
    }
  }
  return envdPort;
}

function sendError(req: http.IncomingMessage, res: http.ServerResponse, err: SandcastleError, where: ErrorPlace): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const r = renderError(err, req.headers['user-agent'], where);
  res.writeHead(r.status, { 'content-type': r.type, 'content-length': Buffer.byteLength(r.body) });
  res.end(r.body);
}

/** The request line and headers of `req` as they came (the Host masked when `host` is given, the
 *  traffic token dropped), to replay to the sandbox on an upgrade. */
function rawHead(req: http.IncomingMessage, host: string | undefined): string {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (name === trafficTokenHeader) continue;
    head += `${req.rawHeaders[i]}: ${host !== undefined && name === 'host' ? host : req.rawHeaders[i + 1]}\r\n`;
  }
  return head + '\r\n';
}

/** Sandboxes searched for the one a header-less signed URL is for. */
const maxSignedLookup = 100_000;

export class SandboxProxy {
  private readonly agent = new http.Agent({ keepAlive: true, maxFreeSockets: 64, scheduling: 'lifo' });
  /** Open upstream requests per sandbox, cut when the sandbox goes away. */
  private readonly open = new Map<string, Set<http.ClientRequest>>();
  /** Upgraded connections per sandbox (their upstream sockets). */
  private readonly upgraded = new Map<string, Set<net.Socket>>();
  /** Each sandbox's address while requests to it may have left connections in the agent. */
  private readonly addresses = new Map<string, string>();
  private dataPlane: Admission | undefined;

  constructor(
    private readonly sandboxes: SandboxService,
    private readonly access?: PublicAccess,
    /** What it relayed, for the Prometheus metrics (the public proxy's, when it parses for it). */
    readonly relays = new RelayMeter(),
  ) {
    sandboxes.on('stopping', (id) => this.cut(id));
  }

  /** HAProxy holds the API port: a sandbox this proxy routes to may take its later requests
   *  straight from HAProxy. */
  useDataPlane(dataPlane: Admission): void {
    this.dataPlane = dataPlane;
  }

  /** `port` undefined: the SDK header named no valid port. */
  handle(req: http.IncomingMessage, res: http.ServerResponse, sandboxId: string, port: number | undefined): void {
    if (port === undefined) {
      sendError(req, res, errors.badRequest('sandbox port header must be a number between 1 and 65535'), { sandboxId });
      return;
    }
    const refused = this.access?.refusal(sandboxId, port, req.headers[trafficTokenHeader]);
    if (refused) {
      sendError(req, res, refused, { sandboxId });
      return;
    }
    trafficTarget(this.sandboxes, sandboxId, port).then((target) => {
      if ('error' in target) return sendError(req, res, target.error, target.where);
      this.dataPlane?.admit(sandboxId, target.address);
      this.forward(req, res, sandboxId, target.address, port);
    });
  }

  /**
   * A signed `/files` URL that names no sandbox: the SDKs build download and upload URLs on the
   * sandbox URL they are given, which for this server is the API port (E2B_SANDBOX_URL,
   * NOVITA_SANDBOX_URL). The sandbox is the one whose envd token the signature was made with;
   * envd then checks the URL in full (expiry included). False when `req` is no such request.
   */
  handleSignedFiles(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    // Only `/files?…` can be one; any other target (e.g. `//`, which no URL parses) goes to the API.
    if (!req.url?.startsWith('/files?')) return false;
    const url = new URL(req.url, 'http://api');
    if (!url.searchParams.has('signature')) return false;
    if (req.method !== 'GET' && req.method !== 'POST') return false;
    const query = signedFileQuery(url.searchParams);
    const operation = req.method === 'POST' ? 'write' : 'read';
    const { items } = this.sandboxes.list({ states: ['running', 'paused'], metadata: {}, limit: maxSignedLookup });
    const sandbox = items.find((s) => s.envdToken && fileSignature(query, operation, s.envdToken) === query.signature);
    if (sandbox) this.handle(req, res, sandbox.id, envdPort);
    else sendError(req, res, errors.signatureInvalid(), {});
    return true;
  }

  /** An upgrade request (WebSocket): relayed as bytes once the sandbox port accepts it. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, sandboxId: string, port: number | undefined): void {
    socket.on('error', () => socket.destroy());
    const refuse = (err: SandcastleError, where: ErrorPlace = { sandboxId, port }) => {
      socket.end(rawHttpError(err, req.headers['user-agent'], where));
    };
    if (port === undefined) {
      refuse(errors.badRequest('sandbox port header must be a number between 1 and 65535'));
      return;
    }
    const refused = this.access?.refusal(sandboxId, port, req.headers[trafficTokenHeader]);
    if (refused) {
      refuse(refused, { sandboxId });
      return;
    }
    trafficTarget(this.sandboxes, sandboxId, port).then((target) => {
      if ('error' in target) return refuse(target.error, target.where);
      this.dataPlane?.admit(sandboxId, target.address);
      const upstream = net.connect({ host: target.address, port, noDelay: true });
      upstream.once('error', (err: NodeJS.ErrnoException) => {
        if (upstream.connecting) refuse(errors.sandboxPortClosed(sandboxId, port, err.code ?? err.message));
        else socket.destroy();
      });
      upstream.once('connect', () => {
        trackUntilClose(this.upgraded, sandboxId, upstream);
        this.relays.splice(socket, upstream);
        upstream.write(rawHead(req, this.access?.maskedHost(sandboxId, port)));
        if (head.length > 0) upstream.write(head);
        socket.pipe(upstream).on('error', () => upstream.destroy());
        upstream.pipe(socket);
        socket.once('close', () => upstream.destroy());
      });
    });
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, sandboxId: string, address: string, port: number): void {
    this.addresses.set(sandboxId, address);
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!hopByHop.has(name) && name !== trafficTokenHeader && value !== undefined) headers[name] = value;
    }
    const host = this.access?.maskedHost(sandboxId, port);
    if (host !== undefined) headers.host = host;
    const upstream = http.request({
      host: address,
      port,
      method: req.method,
      path: req.url,
      headers,
      agent: this.agent,
    });
    trackUntilClose(this.open, sandboxId, upstream);
    upstream.on('response', (up) => {
      const outHeaders: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(up.headers)) {
        if (!hopByHop.has(name) && value !== undefined) outHeaders[name] = value;
      }
      res.writeHead(up.statusCode ?? 502, outHeaders);
      res.flushHeaders();
      this.relays.answer(up);
      up.pipe(res);
      // An upstream that dies mid-body must not look like a complete answer to the client.
      up.on('aborted', () => res.destroy());
      up.on('error', () => res.destroy());
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      sendError(req, res, errors.sandboxPortClosed(sandboxId, port, err.code ?? err.message), { sandboxId, port });
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    this.relays.request(req, res);
    req.pipe(upstream);
  }

  private cut(id: string): void {
    for (const upstream of this.open.get(id) ?? []) upstream.destroy(new Error(`sandbox '${id}' is being killed`));
    for (const upstream of this.upgraded.get(id) ?? []) upstream.destroy();
    // Idle kept-alive connections go too: frozen by a warm pause, envd's keep-alive timers all fire
    // at the thaw and close them just as a request may be sent on one.
    const address = this.addresses.get(id);
    this.addresses.delete(id);
    if (address === undefined) return;
    for (const [name, sockets] of Object.entries(this.agent.freeSockets)) {
      if (name.startsWith(`${address}:`)) for (const socket of sockets ?? []) socket.destroy();
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
