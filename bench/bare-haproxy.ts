// The floor of the public-URL rows: the same HAProxy, started by hand with the least a relay
// needs (one frontend, one server, no Host map, no counters, no Node behind it), in front of the
// same server in the sandbox. What it costs beside direct is what any relay process on the same
// cores costs; what the data plane costs beyond it is Sandcastle's.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { haproxyThreads } from '../src/proxy/data-plane/haproxy-config.js';
import { freePort } from '../test/support/free-port.js';

const run = promisify(execFile);

export interface BareHaproxy {
  /** Plain HTTP to the sandbox's `plainPort`. */
  plainUrl: string;
  /** HTTPS, ended here, to the same plain port (as the public HTTPS URL does). */
  tlsUrl: string;
  stop(): Promise<void>;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Starts HAProxy (`haproxyPath`) relaying two loopback ports to `address:plainPort`, with as
 *  many threads as the data plane gets on this machine. */
export async function startBareHaproxy(haproxyPath: string, address: string, plainPort: number): Promise<BareHaproxy> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sc-bench-haproxy-'));
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=bench', '-keyout', key, '-out', cert]);
    const pem = path.join(dir, 'bench.pem');
    await writeFile(pem, (await readFile(cert, 'utf8')) + (await readFile(key, 'utf8')));
    const [plain, tls] = [await freePort(), await freePort()];
    const config = [
      'global',
      `  nbthread ${haproxyThreads(os.availableParallelism())}`,
      'defaults',
      '  mode http',
      '  timeout connect 5s',
      '  timeout client 60s',
      '  timeout server 60s',
      'frontend plain',
      `  bind 127.0.0.1:${plain}`,
      '  default_backend sandbox',
      'frontend tls',
      `  bind 127.0.0.1:${tls} ssl crt ${pem}`,
      '  default_backend sandbox',
      'backend sandbox',
      `  server s ${address}:${plainPort}`,
      '',
    ].join('\n');
    const file = path.join(dir, 'haproxy.cfg');
    await writeFile(file, config);
    child = spawn(haproxyPath, ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b));
    for (let i = 0; !((await accepts(plain)) && (await accepts(tls))); i++) {
      if (child.exitCode !== null) throw new Error(`the bare HAProxy of the floor exited (${child.exitCode}): ${stderr}`);
      if (i === 100) throw new Error(`the bare HAProxy of the floor did not listen within 5 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { plainUrl: `http://127.0.0.1:${plain}/`, tlsUrl: `https://127.0.0.1:${tls}/`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
