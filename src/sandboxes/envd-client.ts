// The server's own calls to envd inside a sandbox: wait until it answers, then hand it the
// sandbox's access token and environment (`POST /init`, as the hosted orchestrator does).
import { setTimeout as sleep } from 'node:timers/promises';

export const envdPort = 49983;

export interface EnvdInit {
  accessToken: string;
  envVars: Record<string, string>;
  defaultUser: string;
}

function envdUrl(address: string, pathname: string): string {
  return `http://${address}:${envdPort}${pathname}`;
}

export async function waitForEnvd(address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(envdUrl(address, '/health'), { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 204 || res.ok) return;
      lastError = new Error(`envd answered /health with ${res.status}`);
    } catch (err) {
      lastError = err;
    }
    await sleep(4);
  }
  throw new Error(`envd at ${address} did not answer within ${timeoutMs} ms: ${String((lastError as Error)?.message ?? lastError)}`);
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

/** Waits for a template's service to answer `GET /health` with 200 (e.g. the interpreter's kernel
 *  is warm). */
export async function waitForReady(address: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://${address}:${port}/health`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(20);
  }
  throw new Error(`the service on port ${port} of ${address} was not ready within ${timeoutMs} ms (${last})`);
}
