// The server's own calls to envd inside a sandbox: wait until it answers, then hand it the
// sandbox's access token and environment (`POST /init`, as the hosted orchestrator does).
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { envdPort } from '../protocol.js';

export interface EnvdInit {
  accessToken: string;
  envVars: Record<string, string>;
  defaultUser: string;
  defaultWorkdir?: string;
}

interface Answer {
  status: number;
  body: string;
}

/** One HTTP request, its whole answer read. node:http rather than fetch: fetch (undici) cost the
 *  server about 1 ms of CPU per request here, paid twice by every start (/health, /init). */
function request(address: string, port: number, opts: { method: string; path: string; headers?: Record<string, string>; body?: string; timeoutMs: number }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: address, port, method: opts.method, path: opts.path, headers: opts.headers, agent: false, timeout: opts.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Pause between probes: short while a start is quick, longer as the wait grows (a burst of
 *  starts on a busy host waits seconds, and each refused probe costs the server CPU that the
 *  starts themselves need), so a probe answers at most about 1/16 of the wait late. */
function probePause(waitedMs: number): number {
  return Math.min(25, Math.max(4, waitedMs / 16));
}

/** Whether something accepts TCP connections on the port. A refused connection costs the server
 *  about half the CPU of a refused fetch (no request, abort signal or fetch error chain), and envd
 *  takes from 40 ms to a few hundred (in a burst) to listen, so there are dozens per start. */
function listening(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port, timeout: 1000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/**
 * Waits until `GET http://address:port/health` answers 2xx: envd once it listens (204), a
 * template's service once it is ready (the interpreter answers 503 until its kernel is warm).
 * The port is probed with bare connections until something listens; a service that answers but
 * is not ready yet is asked again less often.
 */
export async function waitForHealth(address: string, port: number, timeoutMs: number): Promise<void> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    let pause = probePause(Date.now() - started);
    if (await listening(address, port)) {
      try {
        const res = await request(address, port, { method: 'GET', path: '/health', timeoutMs: 1000 });
        if (res.status >= 200 && res.status < 300) return;
        last = `status ${res.status}`;
        pause = 20;
      } catch (err) {
        last = (err as Error).message;
      }
    } else {
      last = 'nothing listens';
    }
    await sleep(pause);
  }
  throw new Error(`port ${port} of ${address} did not answer /health within ${timeoutMs} ms (${last})`);
}

/** `POST /init`; a field left out leaves envd's value as it is (an empty body changes nothing). */
export async function initEnvd(address: string, init: Partial<EnvdInit>, currentToken?: string): Promise<void> {
  const body = JSON.stringify(init);
  const res = await request(address, envdPort, {
    method: 'POST',
    path: '/init',
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...(currentToken ? { 'x-access-token': currentToken } : {}) },
    body,
    timeoutMs: 5000,
  }).catch((err: Error) => {
    throw new Error(`envd /init at ${address} failed: ${err.message}`, { cause: err });
  });
  if (res.status < 200 || res.status >= 300) throw new Error(`envd /init failed with ${res.status}: ${res.body}`);
}
