// The control-plane calls the sandbox commands make, in plain fetch so an error is the server's
// own message (the SDK replaces a 404's with its own words). envd is reached through the SDK.
import type { Sandbox } from 'e2b';
import { ApiError, apiCall, type ServerConnection, sdkOptions } from './server-connection.js';
import type { SandboxStateName } from './option-values.js';
import type { ListedSandboxJson } from '../api/sandbox-json.js';

/** A sandbox as the list and info endpoints give it. */
export type SandboxRow = ListedSandboxJson;

export interface ListFilter {
  states: SandboxStateName[];
  metadata?: Record<string, string>;
  template?: string;
  /** At most this many; undefined: all. */
  limit?: number;
}

const pageSize = 1000;

/** The sandboxes matching `filter`, page after page (the server's order: newest first). */
export async function listSandboxes(conn: ServerConnection, filter: ListFilter): Promise<{ rows: SandboxRow[]; more: boolean }> {
  const rows: SandboxRow[] = [];
  let nextToken: string | undefined;
  for (;;) {
    const q = new URLSearchParams({ state: filter.states.join(','), limit: String(Math.min(pageSize, filter.limit ?? pageSize)) });
    // The encoding the SDKs use: each key and value percent-encoded, the pairs form-encoded.
    if (filter.metadata && Object.keys(filter.metadata).length) {
      q.set('metadata', new URLSearchParams(Object.entries(filter.metadata).map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)])).toString());
    }
    if (filter.template) q.set('template', filter.template);
    if (nextToken) q.set('nextToken', nextToken);
    const res = await fetchPage(conn, `/v2/sandboxes?${q}`);
    rows.push(...res.rows);
    nextToken = res.nextToken;
    if (filter.limit !== undefined && rows.length >= filter.limit) return { rows: rows.slice(0, filter.limit), more: rows.length > filter.limit || !!nextToken };
    if (!nextToken) return { rows, more: false };
  }
}

async function fetchPage(conn: ServerConnection, pathname: string): Promise<{ rows: SandboxRow[]; nextToken?: string }> {
  // The next-page token comes in a header, which apiCall does not return.
  const res = await fetch(`${conn.url}${pathname}`, { headers: { 'X-API-KEY': sdkOptions(conn).apiKey } }).catch((err: Error) => {
    throw new Error(`cannot reach the Sandcastle server at ${conn.url} (${(err.cause as Error | undefined)?.message ?? err.message}); is \`sandcastle serve\` running?`);
  });
  const text = await res.text();
  if (!res.ok) {
    let message = text.slice(0, 200);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not JSON: the text itself
    }
    throw new ApiError(res.status, `GET ${conn.url}${pathname}: ${res.status} ${message}`);
  }
  return { rows: JSON.parse(text) as SandboxRow[], nextToken: res.headers.get('x-next-token') || undefined };
}

export const sandboxPath = (id: string) => `/sandboxes/${encodeURIComponent(id)}`;

export async function getSandbox(conn: ServerConnection, id: string): Promise<SandboxRow> {
  return (await apiCall(conn, 'GET', sandboxPath(id))) as SandboxRow;
}

/**
 * The SDK's handle on a sandbox, resuming it when paused. An error is the server's: a failed
 * connect is asked once more in plain fetch, whose error carries the server's message.
 */
export async function connectSandbox(conn: ServerConnection, id: string, timeoutMs?: number): Promise<Sandbox> {
  const { Sandbox } = await import('e2b');
  try {
    return await Sandbox.connect(id, { ...sdkOptions(conn), ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  } catch (err) {
    await apiCall(conn, 'POST', `${sandboxPath(id)}/connect`, timeoutMs !== undefined ? { timeout: Math.ceil(timeoutMs / 1000) } : {});
    throw err;
  }
}
