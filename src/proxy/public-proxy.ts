// The public URL of every sandbox port: `https://{port}-{id}.{domain}` (and plain http) forwarded to
// that port inside the sandbox. Each connection's first request head is read only far enough to
// find its Host. Behind HAProxy, which hands Node one request per connection, the connection is
// then spliced byte for byte to the sandbox, so streaming, uploads, WebSockets and any other
// upgrade work untouched and cost no more than a TCP relay. Serving clients itself (the `node`
// data plane), Node parses every request of the connection and routes each by its own Host: a
// kept-alive connection may switch Host, and each request must reach the sandbox it names.
import http from 'node:http';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Config } from '../config.js';
import { errors, rawHttpError, renderError, type ErrorPlace, type SandcastleError } from '../errors.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import { routeForHost } from './host-route.js';
import type { PublicAccess } from './public-access.js';
import { adoptWithReusedReads, relayEvents, ReusedReads, writeInto } from './relay.js';
import { relayingServerOptions, SandboxProxy } from './sandbox-proxy.js';
import { trackUntilClose, trafficTarget, type Admission } from './traffic.js';
import { RelayMeter } from '../metrics/prometheus-hooks.js';

/** Longest request line and headers read before routing. */
const maxHeadBytes = 16 * 1024;
/** A client must send its request head this fast (slowloris). */
const headTimeoutMs = 30_000;
/** A server started just before the first request (`python -m http.server &`, then a fetch) gets
 *  this long to start listening before the answer is "nothing listens on this port". */
const portWaitMs = 3_000;
const portRetryMs = 50;
/** A sandbox that accepts no connection at all (frozen mid-pause) is given up on after this. */
const connectTimeoutMs = 10_000;

interface Head {
  host?: string;
  userAgent?: string;
}

function parseHead(text: string): Head | undefined {
  const lines = text.split('\r\n');
  if (!/^[A-Z]+ \S+ HTTP\/1\.[01]$/.test(lines[0] ?? '')) return undefined;
  const head: Head = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name === 'host') head.host ??= line.slice(colon + 1).trim();
    else if (name === 'user-agent') head.userAgent = line.slice(colon + 1).trim();
  }
  return head;
}

export class PublicProxy {
  /** Spliced connections per sandbox (both ends), cut when the sandbox goes away. */
  private readonly open = new Map<string, Set<net.Socket>>();
  private readonly all = new Set<net.Socket>();
  /** What it relayed, for the Prometheus metrics. */
  readonly relays = new RelayMeter();

  /** Connections served request by request: those of clients served directly, and those to a
   *  sandbox with a public-access policy (a token to check on every request, a Host to rewrite). */
  private readonly parsed: http.Server;
  private readonly parsedProxy: SandboxProxy;

  /** The web console, served on the bare `{domain}` (see serveConsole). */
  private consoleServer: http.Server | undefined;

  constructor(
    private readonly config: Config,
    private readonly sandboxes: SandboxService,
    private readonly access?: PublicAccess,
  ) {
    sandboxes.on('stopping', (id) => this.cut(id));
    const proxy = (this.parsedProxy = new SandboxProxy(sandboxes, access, this.relays));
    const routeOf = (req: http.IncomingMessage) => routeForHost(req.headers.host, config.domain);
    // A client served directly may send requests for any host on one connection: the console's
    // and `api.{domain}`'s go to their servers, request by request too.
    const serverOf = (route: ReturnType<typeof routeOf>) => (route.kind === 'console' ? this.consoleServer : route.kind === 'api' ? this.apiServer : undefined);
    this.parsed = http.createServer(relayingServerOptions, (req, res) => {
      const route = routeOf(req);
      if (route.kind === 'sandbox') return proxy.handle(req, res, route.sandboxId, route.port);
      const server = serverOf(route);
      if (server) return void server.emit('request', req, res);
      const err = route.kind === 'error' ? route.error : errors.badSandboxHost(req.headers.host ?? '(none)', config.domain);
      const r = renderError(err, req.headers['user-agent']);
      res.writeHead(r.status, { 'content-type': r.type }).end(r.body);
    });
    this.parsed.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const route = routeOf(req);
      const server = serverOf(route);
      if (route.kind === 'sandbox') proxy.upgrade(req, socket, head, route.sandboxId, route.port);
      else if (server && server.listenerCount('upgrade') > 0) server.emit('upgrade', req, socket, head);
      else socket.destroy();
    });
  }

  /** The API port's own server, which `api.{domain}` connections are handed to (see serveApi). */
  private apiServer: http.Server | undefined;

  /** Serves requests for the bare `{domain}` (the web console) with `listener`. */
  serveConsole(listener: http.RequestListener): void {
    this.consoleServer = http.createServer({ keepAliveTimeout: 65_000 }, listener);
  }

  /** Serves connections for `api.{domain}` with the API port's server: everything it answers
   *  (control plane, volume content, console, sandbox traffic by SDK header) is reachable there. */
  serveApi(server: http.Server): void {
    this.apiServer = server;
  }

  private dataPlane: Admission | undefined;

  useDataPlane(dataPlane: Admission): void {
    this.dataPlane = dataPlane;
  }

  /** Takes a plain client connection, accepted paused (`pauseOnConnect`) so that no byte is read
   *  before its reads go to a reused buffer. `encrypted` when it came over TLS to a data plane
   *  in front of this proxy; `direct` when it comes from the client itself (no data plane), whose
   *  requests are then routed one by one. */
  handlePlain(accepted: net.Socket, how: { encrypted?: boolean; direct?: boolean } = {}): void {
    const reads = new ReusedReads();
    this.take(adoptWithReusedReads(accepted, reads), reads, how.encrypted ?? false, how.direct ?? false);
  }

  /** Takes a TLS client connection from the client itself (its reads are decrypted into new
   *  buffers anyway). */
  handleTls(client: tls.TLSSocket): void {
    this.take(client, undefined, true, true);
  }

  private take(client: net.Socket, reads: ReusedReads | undefined, encrypted: boolean, direct: boolean): void {
    // Adopted sockets are no longer counted by their net.Server: `all` is what close() cuts.
    this.all.add(client);
    client.once('close', () => this.all.delete(client));
    client.on('error', () => client.destroy());
    client.setNoDelay(true);
    client.setTimeout(headTimeoutMs, () => client.destroy());
    let buffered: Buffer = Buffer.alloc(0);
    /** Collects the request head; false once it is complete, which pauses the client. Once the
     *  client has been answered (refused, maybe inside route's synchronous part), it reads on and
     *  drops what comes, so that the client's FIN is seen. */
    const onHeadBytes = (chunk: Buffer): boolean => {
      if (client.writableEnded) return true;
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      // The limit holds however the head arrives: whole in one read, or in pieces.
      if (end > maxHeadBytes || (end < 0 && buffered.length > maxHeadBytes)) {
        this.refuse(client, reads, errors.requestHeadTooLarge(maxHeadBytes), undefined, {});
        return true;
      }
      if (end < 0) return true;
      const head = parseHead(buffered.subarray(0, end).toString('latin1'));
      if (!head) {
        this.refuse(client, reads, errors.badRequest('not an HTTP/1.x request'), undefined, {});
        return true;
      }
      this.route(client, reads, head, buffered, encrypted, direct).catch((err: Error) => {
        this.refuse(client, reads, errors.sandboxGone('?', `unreachable: ${err.message}`), head.userAgent, {});
      });
      return client.writableEnded;
    };
    if (reads) {
      reads.setSink(onHeadBytes);
      client.resume();
    } else {
      const onData = (chunk: Buffer) => {
        if (onHeadBytes(chunk)) return;
        client.off('data', onData);
        client.pause();
      };
      client.on('data', onData);
    }
  }

  private async route(client: net.Socket, reads: ReusedReads | undefined, head: Head, bytes: Buffer, encrypted: boolean, direct: boolean): Promise<void> {
    const route = routeForHost(head.host, this.config.domain);
    if (direct && route.kind !== 'error') {
      // Each request is routed, relayed and cut at a pause or kill by the host it names.
      this.parse(undefined, client, reads, bytes, encrypted);
      return;
    }
    const handOver = route.kind === 'console' ? this.consoleServer : route.kind === 'api' ? this.apiServer : undefined;
    if (handOver) {
      client.setTimeout(0);
      // On the next tick, as parse() does: once the head reader has paused the client.
      const server = handOver;
      process.nextTick(() => {
        if (client.destroyed) return;
        // Marked as a TLS socket is (the console's cookie is `Secure` then).
        server.emit('connection', Object.assign(asDuplex(client, reads, bytes), { encrypted }));
      });
      return;
    }
    if (route.kind !== 'sandbox') {
      const err = route.kind === 'error' ? route.error : errors.badSandboxHost(head.host ?? '(none)', this.config.domain);
      this.refuse(client, reads, err, head.userAgent, {});
      return;
    }
    const { sandboxId, port } = route;
    if (this.access?.restricted(sandboxId)) {
      this.parse(sandboxId, client, reads, bytes, encrypted);
      return;
    }
    const target = await trafficTarget(this.sandboxes, sandboxId, port);
    if ('error' in target) {
      this.refuse(client, reads, target.error, head.userAgent, target.where);
      return;
    }
    this.dataPlane?.admit(sandboxId, target.address);
    let upstream: net.Socket;
    try {
      upstream = await connectWhenListening(target.address, port, client);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      this.refuse(client, reads, errors.sandboxPortClosed(sandboxId, port, e.code ?? e.message), head.userAgent, { sandboxId, port });
      return;
    }
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    this.splice(sandboxId, client, reads, upstream, bytes);
  }

  private splice(sandboxId: string, client: net.Socket, reads: ReusedReads | undefined, upstream: net.Socket, bytes: Buffer): void {
    client.setTimeout(0);
    trackUntilClose(this.open, sandboxId, client);
    trackUntilClose(this.open, sandboxId, upstream);
    this.relays.splice(client, upstream);
    // An end is passed on after the last byte (FIN); a reset or error on one side resets the
    // other, and a client that is gone takes its upstream with it.
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
    upstream.write(bytes);
    client.once('end', () => upstream.end());
    upstream.once('end', () => client.end());
    if (reads) {
      reads.setSink(writeInto(client, upstream, reads));
      client.resume();
    } else {
      relayEvents(client, upstream);
    }
    upstream.resume();
  }

  /** Hands the connection, its head bytes first, to the parsing server: on the next tick, once
   *  the head reader has paused the client, so that the server's reads are what resume it. The
   *  connection is cut when `sandboxId` (the one all its requests are for) goes away. */
  private parse(sandboxId: string | undefined, client: net.Socket, reads: ReusedReads | undefined, bytes: Buffer, encrypted: boolean): void {
    client.setTimeout(0);
    if (sandboxId) trackUntilClose(this.open, sandboxId, client);
    process.nextTick(() => {
      // Marked as a TLS socket is (the console's cookie is `Secure` then).
      if (!client.destroyed) this.parsed.emit('connection', Object.assign(asDuplex(client, reads, bytes), { encrypted }));
    });
  }

  /** Answers with the error and closes. What the client still sends is read and dropped: a
   *  connection paused after its head would never see the client's FIN and would hold its
   *  descriptor until the head timeout, so a burst of bad requests could use up the process's. */
  private refuse(client: net.Socket, reads: ReusedReads | undefined, err: SandcastleError, userAgent: string | undefined, where: ErrorPlace): void {
    if (client.destroyed) return;
    client.end(rawHttpError(err, userAgent, where));
    reads?.setSink(() => true);
    client.resume();
  }

  private cut(sandboxId: string): void {
    for (const socket of this.open.get(sandboxId) ?? []) socket.destroy();
  }

  close(): void {
    for (const socket of this.all) socket.destroy();
    this.parsedProxy.close();
  }
}

/** Connects to the sandbox port, retrying while the port refuses (nothing listens yet) for up to
 *  portWaitMs, and giving up early if the client leaves. */
function connectWhenListening(host: string, port: number, client: net.Socket): Promise<net.Socket> {
  const deadline = Date.now() + portWaitMs;
  // Answers go to the client from a reused buffer from the first byte on (a server may speak
  // first); the request bytes follow once the caller splices the two. One buffer for all attempts.
  const reads = new ReusedReads();
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const upstream: net.Socket = net.connect({ host, port, noDelay: true, onread: reads.onread });
      upstream.setTimeout(connectTimeoutMs, () => upstream.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })));
      upstream.once('connect', () => {
        reads.setSink(writeInto(upstream, client, reads));
        upstream.setTimeout(0);
        upstream.removeAllListeners('error');
        resolve(upstream);
      });
      upstream.once('error', (err: NodeJS.ErrnoException) => {
        upstream.destroy();
        if (err.code === 'ECONNREFUSED' && Date.now() + portRetryMs < deadline && !client.destroyed) setTimeout(attempt, portRetryMs);
        else reject(err);
      });
    };
    attempt();
  });
}

/** `client` as a plain Duplex for an http.Server (which takes any Duplex as a connection): the
 *  bytes already read come first, reads pause while the server is not reading. */
function asDuplex(client: net.Socket, reads: ReusedReads | undefined, first: Buffer): Duplex {
  const duplex = new Duplex({
    read: () => client.resume(),
    write: (chunk: Buffer, _enc, done) => client.write(chunk, done),
    final: (done) => {
      client.end();
      done();
    },
    destroy: (err, done) => {
      client.destroy();
      done(err);
    },
  });
  duplex.push(first);
  const push = (chunk: Buffer) => duplex.push(Buffer.from(chunk));
  if (reads) reads.setSink(push);
  else client.on('data', (chunk: Buffer) => push(chunk) || client.pause());
  client.once('end', () => duplex.push(null));
  client.once('close', () => duplex.destroy());
  client.resume();
  return duplex;
}
