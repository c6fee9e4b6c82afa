// The server's own calls to envd inside a sandbox: wait until it answers, then hand it the
// sandbox's access token and environment (`POST /init`, as the hosted orchestrator does).
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { envdPort } from '../protocol.js';

export interface EnvdInit {
  accessToken: string;
  envVars: Record<string, string>;
  defaultUser: string;
  defaultWorkdir?: string;
}

function envdUrl(address: string, pathname: string): string {
  return `http://${address}:${envdPort}${pathname}`;
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
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    let pause = 4;
    if (await listening(address, port)) {
      try {
        const res = await fetch(`http://${address}:${port}/health`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.ok) return;
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

export async function initEnvd(address: string, init: EnvdInit, currentToken?: string): Promise<void> {
  const res = await fetch(envdUrl(address, '/init'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(currentToken ? { 'x-access-token': currentToken } : {}) },
    body: JSON.stringify(init),
    signal: AbortSignal.timeout(5000),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`envd /init failed with ${res.status}: ${body}`);
}
