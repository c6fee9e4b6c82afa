// The public HTTPS (443) and HTTP (80) listeners for `{port}-{id}.{domain}`, on both loopback
// addresses: `*.localhost` names resolve to ::1 first, then 127.0.0.1 (libnss-myhostname), and
// the API port. With the HAProxy data plane (the default) HAProxy holds them all, and Node's
// public proxy and API server listen on sockets of their own behind it; with the Node data plane
// Node holds them.
import { mkdir, rm } from 'node:fs/promises';
import type http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { dataFiles, type Config } from '../config.js';
import type { Logger } from '../log.js';
import { noRelayFigures, type RelayFigures } from '../metrics/prometheus-hooks.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import { HaproxyDataPlane } from './data-plane/haproxy-data-plane.js';
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
  /** Whether HAProxy holds the listeners (the HAProxy data plane). */
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

/** Listens on the API port and gives the port (chosen by the system when configured as 0). */
async function listenApi(server: net.Server, config: Config): Promise<number> {
  await listen(server, config.port, config.host);
  return (server.address() as net.AddressInfo).port;
}

/** The configured binds this host can take: a host without IPv6 has no ::1, and the other
 *  loopback still serves. A bind taken by another program is an error that names it. */
async function availableBinds(config: Config, withTls: boolean, log: Logger): Promise<Bind[]> {
  const binds: Bind[] = [];
  const plans: Array<{ scheme: Bind['scheme']; port: number }> = [];
  if (config.httpsPort > 0 && withTls) plans.push({ scheme: 'https', port: config.httpsPort });
  if (config.httpPort > 0) plans.push({ scheme: 'http', port: config.httpPort });
  for (const { scheme, port } of plans) {
    for (const host of config.publicHosts) {
      const bind = { scheme, host, port };
      const probe = net.createServer();
      try {
        await listen(probe, port, host);
        await new Promise((r) => probe.close(r));
        binds.push(bind);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT') throw new Error(`cannot listen on ${urlOf(bind)}: ${code ?? (err as Error).message}`);
        log.warn({ url: urlOf(bind) }, `${urlOf(bind)} is not available on this host; skipped`);
      }
    }
  }
  return binds;
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
  const binds = await availableBinds(deps.config, deps.material !== undefined, deps.log);
  if (deps.config.dataPlane === 'haproxy') return startBehindHaproxy(deps, binds);
  return startInNode(deps, binds);
}

async function startInNode({ config, proxy, material, api }: ListenerDeps, binds: Bind[]): Promise<Listeners> {
  const apiPort = await listenApi(api, config);
  const servers: net.Server[] = [];
  try {
    for (const bind of binds) {
      const server =
        bind.scheme === 'https'
          ? tls.createServer({ key: material!.key, cert: material!.cert, ALPNProtocols: ['http/1.1'] }, (s) => proxy.handleTls(s))
          : net.createServer({ pauseOnConnect: true }, (s) => proxy.handlePlain(s));
      // Failed handshakes (a client that does not trust the CA) only concern that client.
      server.on('tlsClientError', () => undefined);
      await listen(server, bind.port, bind.host).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`cannot listen on ${urlOf(bind)}: ${err.code ?? err.message}`);
      });
      servers.push(server);
    }
  } catch (err) {
    for (const s of [...servers, api]) s.close();
    throw err;
  }
  return {
    urls: binds.map(urlOf),
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
  // Taken and let go at once, so that a port in use fails as Node words it, and port 0 becomes a
  // free port for HAProxy to bind.
  const probe = net.createServer();
  const apiPort = await listenApi(probe, config);
  await new Promise((r) => probe.close(r));
  const dataPlane = new HaproxyDataPlane(
    {
      dir: dataFiles(config.dataDir).dataPlane,
      binary: config.haproxyPath,
      domain: config.domain,
      binds: binds.map((b) => ({ host: b.host, port: b.port, tls: b.scheme === 'https' })),
      pem: material && `${material.cert.trimEnd()}\n${material.key.trimEnd()}\n`,
      api: { host: config.host, port: apiPort },
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
      const server = origin === 'api' ? api : net.createServer({ pauseOnConnect: true }, (s) => proxy.handlePlain(s, origin === 'tls'));
      await listen(server, socketPath);
      servers.push(server);
    }
    proxy.useDataPlane(dataPlane);
    apiProxy.useDataPlane(dataPlane);
    await dataPlane.start();
  } catch (err) {
    for (const s of servers) s.close();
    throw new Error(`the data plane (HAProxy, in front of the API port and public URLs) did not start (install haproxy, as scripts/setup-host.sh does, or set SANDCASTLE_DATA_PLANE=node): ${(err as Error).message}`);
  }
  return {
    urls: binds.map(urlOf),
    apiPort,
    behindHaproxy: true,
    figures: (origin) => dataPlane.figures(origin),
    dataPlanePid: () => dataPlane.pid,
    async close() {
      await dataPlane.close();
      // The API server is the caller's to close.
      await Promise.all(servers.filter((s) => s !== api).map((s) => new Promise((r) => s.close(r))));
    },
  };
}
