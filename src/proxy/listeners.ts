// The public HTTPS (443) and HTTP (80) listeners for `{port}-{id}.{domain}`, on both loopback
// addresses: `*.localhost` names resolve to ::1 first, then 127.0.0.1 (libnss-myhostname), and
// the API port. With the HAProxy data plane (the default) Node binds them and HAProxy inherits
// and serves them (held-socket.ts), with Node's public proxy and API server on sockets of their own
// behind it; with the Node data plane Node serves them.
import { mkdir, rm } from 'node:fs/promises';
import type http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { dataFiles, type Config } from '../config.js';
import type { Logger } from '../log.js';
import { noRelayFigures, type RelayFigures } from '../metrics/prometheus-hooks.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import { HaproxyDataPlane } from './data-plane/haproxy-data-plane.js';
import { holdSocket } from './data-plane/held-socket.js';
import type { Origin } from './data-plane/haproxy-config.js';
import type { PublicAccess } from './public-access.js';
import type { PublicProxy } from './public-proxy.js';
import type { Admission } from './traffic.js';
import type { TlsMaterial } from './tls-material.js';

export interface Listeners {
  /** What listens where, e.g. `https://[::1]:443`. */
  urls: string[];
  /** The API port (the one chosen when the configuration says 0). */
  apiPort: number;
  /** What HAProxy relayed from the public listeners or the API port (none with the Node data
   *  plane). */
  figures(origin: 'public' | 'api'): RelayFigures;
  /** Whether HAProxy serves the listeners (the HAProxy data plane). */
  behindHaproxy: boolean;
  /** HAProxy's process id, when it runs. */
  dataPlanePid(): number | undefined;
  close(): Promise<void>;
}

interface Bind {
  scheme: 'https' | 'http';
  host: string;
  port: number;
}

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

const urlOf = (b: Bind) => `${b.scheme}://${bracket(b.host)}:${b.port}`;

function listen(server: net.Server, port: number | string, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port as number, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The configured public binds. */
function plannedBinds(config: Config, withTls: boolean): Bind[] {
  const binds: Bind[] = [];
  if (config.httpsPort > 0 && withTls) binds.push(...config.publicHosts.map((host) => ({ scheme: 'https' as const, host, port: config.httpsPort })));
  if (config.httpPort > 0) binds.push(...config.publicHosts.map((host) => ({ scheme: 'http' as const, host, port: config.httpPort })));
  return binds;
}

/** Takes each bind this host can take: a host without IPv6 has no ::1, and the other loopback
 *  still serves. A bind taken by another program is an error that names it; what was taken
 *  before it is let go (`release`). */
async function takeBinds<T>(binds: Bind[], take: (bind: Bind) => Promise<T>, release: (taken: T) => void, log: Logger): Promise<Array<{ bind: Bind; taken: T }>> {
  const taken: Array<{ bind: Bind; taken: T }> = [];
  for (const bind of binds) {
    try {
      taken.push({ bind, taken: await take(bind) });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') {
        log.warn({ url: urlOf(bind) }, `${urlOf(bind)} is not available on this host; skipped`);
        continue;
      }
      for (const t of taken) release(t.taken);
      throw new Error(`cannot listen on ${urlOf(bind)}: ${code ?? (err as Error).message}`);
    }
  }
  return taken;
}

export interface ListenerDeps {
  config: Config;
  proxy: PublicProxy;
  material: TlsMaterial | undefined;
  sandboxes: SandboxService;
  access: PublicAccess;
  log: Logger;
  /** Node's API server, not yet listening. */
  api: http.Server;
  /** What relays the API port's sandbox traffic in Node, told of the data plane. */
  apiProxy: { useDataPlane(dataPlane: Admission): void };
}

export async function startListeners(deps: ListenerDeps): Promise<Listeners> {
  const binds = plannedBinds(deps.config, deps.material !== undefined);
  if (deps.config.dataPlane === 'haproxy') return startBehindHaproxy(deps, binds);
  return startInNode(deps, binds);
}

async function startInNode({ config, proxy, material, api, log }: ListenerDeps, binds: Bind[]): Promise<Listeners> {
  await listen(api, config.port, config.host);
  const apiPort = (api.address() as net.AddressInfo).port;
  const listenOn = async (bind: Bind) => {
    const server =
      bind.scheme === 'https'
        ? tls.createServer({ key: material!.key, cert: material!.cert, ALPNProtocols: ['http/1.1'] }, (s) => proxy.handleTls(s))
        : net.createServer({ pauseOnConnect: true }, (s) => proxy.handlePlain(s, { direct: true }));
    // Failed handshakes (a client that does not trust the CA) only concern that client.
    server.on('tlsClientError', () => undefined);
    await listen(server, bind.port, bind.host);
    return server;
  };
  const taken = await takeBinds(binds, listenOn, (s) => s.close(), log).catch((err: Error) => {
    api.close();
    throw err;
  });
  const servers = taken.map((t) => t.taken);
  return {
    urls: taken.map((t) => urlOf(t.bind)),
    apiPort,
    behindHaproxy: false,
    figures: () => noRelayFigures,
    dataPlanePid: () => undefined,
    async close() {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

async function startBehindHaproxy({ config, proxy, material, sandboxes, access, log, api, apiProxy }: ListenerDeps, binds: Bind[]): Promise<Listeners> {
  const apiSocket = await holdSocket(config.host, config.port);
  const held = await takeBinds(binds, (b) => holdSocket(b.host, b.port), (s) => s.close(), log).catch((err: Error) => {
    apiSocket.close();
    throw err;
  });
  const sockets = [apiSocket, ...held.map((h) => h.taken)];
  const dataPlane = new HaproxyDataPlane(
    {
      dir: dataFiles(config.dataDir).dataPlane,
      binary: config.haproxyPath,
      domain: config.domain,
      binds: held.map((h) => ({ socket: h.taken, tls: h.bind.scheme === 'https' })),
      pem: material && `${material.cert.trimEnd()}\n${material.key.trimEnd()}\n`,
      api: apiSocket,
    },
    sandboxes,
    access,
    log,
  );
  const servers: net.Server[] = [];
  try {
    await mkdir(dataFiles(config.dataDir).dataPlane, { recursive: true, mode: 0o700 });
    for (const origin of ['plain', 'tls', 'api'] as Origin[]) {
      const socketPath = dataPlane.paths.node[origin];
      await rm(socketPath, { force: true });
      const server = origin === 'api' ? api : net.createServer({ pauseOnConnect: true }, (s) => proxy.handlePlain(s, { encrypted: origin === 'tls' }));
      await listen(server, socketPath);
      servers.push(server);
    }
    proxy.useDataPlane(dataPlane);
    apiProxy.useDataPlane(dataPlane);
    await dataPlane.start();
  } catch (err) {
    for (const s of servers) s.close();
    for (const s of sockets) s.close();
    throw new Error(`the data plane (HAProxy, in front of the API port and public URLs) did not start (install haproxy, as scripts/setup-host.sh does, or set SANDCASTLE_DATA_PLANE=node): ${(err as Error).message}`);
  }
  return {
    urls: held.map((h) => urlOf(h.bind)),
    apiPort: apiSocket.port,
    behindHaproxy: true,
    figures: (origin) => dataPlane.figures(origin),
    dataPlanePid: () => dataPlane.pid,
    async close() {
      await dataPlane.close();
      for (const s of sockets) s.close();
      // The API server is the caller's to close.
      await Promise.all(servers.filter((s) => s !== api).map((s) => new Promise((r) => s.close(r))));
    },
  };
}
