// The server's own calls to envd inside a sandbox: wait until it answers, then hand it the
// sandbox's access token and environment (`POST /init`, as the hosted orchestrator does).
import { setTimeout as sleep } from 'node:timers/promises';
import { envdPort } from '../protocol.js';

export interface EnvdInit {
  accessToken: string;
  envVars: Record<string, string>;
  defaultUser: string;
}

function envdUrl(address: string, pathname: string): string {
  return `http://${address}:${envdPort}${pathname}`;
}

/**
 * Polls `GET http://address:port/health` until it answers 2xx: envd once it listens (204), a
 * template's service once it is ready (the interpreter answers 503 until its kernel is warm).
 */
export async function waitForHealth(address: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://${address}:${port}/health`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(4);
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
