// A sandbox's web server and the plain-HTTP clients that reach it through a public listener or
// the API port, for the tests of each data plane.
import http from 'node:http';
import net from 'node:net';
import type { Sandbox } from 'novita-sandbox';

/** A server inside the sandbox: `/` says hello, `/stream` sends a chunk every 100 ms, `/upload`
 *  counts the bytes it receives, and upgrades echo whatever is sent after the 101. */
export const sandboxServerCode = `
const http = require('node:http');
const s = http.createServer((req, res) => {
  if (req.url === '/stream') {
    let n = 0;
    const t = setInterval(() => { res.write('chunk ' + n + '\\n'); if (++n === 10) { clearInterval(t); res.end(); } }, 100);
    return;
  }
  if (req.url === '/upload') { let size = 0; req.on('data', (b) => size += b.length); req.on('end', () => res.end(String(size))); return; }
  res.end('hello from ' + process.env.NAME + '\\n');
});
s.on('upgrade', (req, socket) => { socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\n\\r\\n'); socket.pipe(socket); });
s.listen(8000, '0.0.0.0');
`;

export async function startSandboxServer(sbx: Sandbox, name: string): Promise<void> {
  await sbx.files.write('/tmp/server.js', sandboxServerCode);
  await sbx.commands.run('/opt/sandcastle/node /tmp/server.js', { background: true, envs: { NAME: name } });
  for (let i = 0; i < 100; i++) {
    const r = await sbx.commands.run('curl -s localhost:8000/ || true');
    if (r.stdout.startsWith('hello')) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('server in sandbox did not start');
}

/** A plain-HTTP request to loopback `port` with the given Host; a new connection when `agent`
 *  is false. */
export function getWithHost(port: number, host: string, urlPath = '/', headers: http.OutgoingHttpHeaders = {}, agent?: http.Agent | false): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, headers: { host, ...headers }, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** GETs of `hosts` (or with these headers) in turn on one kept-alive connection to `port`: each
 *  answer's body and the local port of the connection it came on. */
export async function overOneConnection(hosts: Array<string | http.OutgoingHttpHeaders>, port: number): Promise<Array<{ body: string; port: number }>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const answers: Array<{ body: string; port: number }> = [];
    for (const host of hosts) {
      answers.push(
        await new Promise((resolve, reject) => {
          http.get({ host: '127.0.0.1', port, path: '/', agent, headers: typeof host === 'string' ? { host } : host }, (res) => {
            const port = res.socket.localPort!;
            let body = '';
            res.on('data', (c: Buffer) => (body += c));
            res.on('end', () => resolve({ body, port }));
          }).on('error', reject);
        }),
      );
    }
    return answers;
  } finally {
    agent.destroy();
  }
}

/** The first chunk of the sandbox server's `/stream` (ten chunks 100 ms apart) through loopback
 *  `port` with the given Host. */
export function firstStreamChunk(port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/stream', headers: { host } }, (res) =>
        res.once('data', (d: Buffer) => {
          resolve(d.toString());
          res.resume();
        }),
      )
      .on('error', reject);
  });
}

/** An upgrade to the sandbox server's echo through loopback `port` with the given Host, then
 *  `ping` sent after the answer's head: all that came back, `ping` last. */
export function echoAfterUpgrade(port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET /ws HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`));
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n\r\n') && !got.includes('ping')) s.write('ping');
      if (got.endsWith('ping')) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
  });
}
