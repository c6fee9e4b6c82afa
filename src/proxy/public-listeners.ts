// The public HTTPS (443) and HTTP (80) listeners for `{port}-{id}.{domain}`, on both loopback
// addresses: `*.localhost` names resolve to ::1 first, then 127.0.0.1 (libnss-myhostname).
import net from 'node:net';
import tls from 'node:tls';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { PublicProxy } from './public-proxy.js';
import type { TlsMaterial } from './tls-material.js';

export interface PublicListeners {
  /** What listens where, e.g. `https://[::1]:443`. */
  urls: string[];
  close(): Promise<void>;
}

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startPublicListeners(config: Config, proxy: PublicProxy, material: TlsMaterial | undefined, log: Logger): Promise<PublicListeners> {
  const servers: net.Server[] = [];
  const urls: string[] = [];
  const plans: Array<{ scheme: 'https' | 'http'; port: number }> = [];
  if (config.httpsPort > 0 && material) plans.push({ scheme: 'https', port: config.httpsPort });
  if (config.httpPort > 0) plans.push({ scheme: 'http', port: config.httpPort });
  try {
    for (const { scheme, port } of plans) {
      for (const host of config.publicHosts) {
        const server =
          scheme === 'https'
            ? tls.createServer({ key: material!.key, cert: material!.cert, ALPNProtocols: ['http/1.1'] }, (s) => proxy.handleTls(s))
            : net.createServer({ pauseOnConnect: true }, (s) => proxy.handlePlain(s));
        // Failed handshakes (a client that does not trust the CA) only concern that client.
        server.on('tlsClientError', () => undefined);
        const url = `${scheme}://${bracket(host)}:${port}`;
        const bound = await new Promise<boolean>((resolve, reject) => {
          server.once('error', (err: NodeJS.ErrnoException) => {
            // A host without IPv6 has no ::1; the other loopback still serves.
            if (err.code === 'EADDRNOTAVAIL' || err.code === 'EAFNOSUPPORT') resolve(false);
            else reject(new Error(`cannot listen on ${url}: ${err.code ?? err.message}`));
          });
          server.listen(port, host, () => resolve(true));
        });
        if (!bound) {
          log.warn({ url }, `${url} is not available on this host; skipped`);
          continue;
        }
        servers.push(server);
        urls.push(url);
      }
    }
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }
  return {
    urls,
    async close() {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}
