// The page's calls: the REST API under /dashboard/api (the session cookie stands for the key)
// and the console's live routes. A 401 means the session ended: back to the sign-in form.
import type { ListedSandboxJson } from '../../api/sandbox-json.js';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** `why` is a reason the sign-in form knows (it shows only the server's own words). */
function signIn(why?: 'key-deleted'): never {
  const params = new URLSearchParams({ next: location.pathname + location.search });
  if (why) params.set('why', why);
  location.assign(`/dashboard/login?${params}`);
  throw new ApiError(401, why ?? 'not signed in');
}

export async function call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    const message = ((await res.json().catch(() => ({}))) as { message?: string }).message;
    signIn(message?.startsWith('signed out') ? 'key-deleted' : undefined);
  }
  const text = await res.text();
  const data = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) throw new ApiError(res.status, (data as { message?: string } | undefined)?.message ?? `${method} ${path} answered ${res.status}`);
  return data as T;
}

export const api = {
  pause: (id: string) => call('POST', `/dashboard/api/sandboxes/${id}/pause`, {}),
  resume: (id: string) => call('POST', `/dashboard/api/sandboxes/${id}/connect`, {}),
  kill: (id: string) => call('DELETE', `/dashboard/api/sandboxes/${id}`),
  clone: (id: string, count: number) => call<{ sandboxes: Array<{ sandboxID: string }> }>('POST', `/dashboard/api/sandboxes/${id}/clone`, { count }),
  setTimeout: (id: string, seconds: number) => call('POST', `/dashboard/api/sandboxes/${id}/timeout`, { timeout: seconds }),
};

/** A list entry of the API with what the console's live route adds: the lifecycle's own state
 *  (`phase`) and the latest sample. */
export type SandboxRow = Pick<ListedSandboxJson, 'sandboxID' | 'templateID' | 'alias' | 'metadata' | 'startedAt' | 'endAt' | 'state' | 'cpuCount' | 'memoryMB' | 'diskSizeMB'> & {
  phase: string;
  now: { cpuUsedPct: number; memUsed: number; memTotal: number } | null;
};

export interface Sample {
  timestampUnix: number;
  timestamp: string;
  cpuUsedPct: number;
  memUsed: number;
  memTotal: number;
  diskUsed: number;
  diskTotal: number;
}

export interface LogEntry {
  timestamp: string;
  level: string;
  message: string;
}
