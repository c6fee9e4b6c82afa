// Where the CLI finds the server and the key to send it: the SDKs' own variables first
// (NOVITA_API_URL / E2B_API_URL, NOVITA_API_KEY / E2B_API_KEY), else this machine's server as
// configured and the key it made at its first start.
import { readFileSync } from 'node:fs';
import { dataFiles, loadConfig } from '../config.js';

export interface ServerConnection {
  url: string;
  apiKey: string | undefined;
}

export function serverConnection(): ServerConnection {
  const config = loadConfig();
  const url = (process.env.NOVITA_API_URL || process.env.E2B_API_URL || `http://${config.host}:${config.port}`).replace(/\/+$/, '');
  let apiKey = process.env.NOVITA_API_KEY || process.env.E2B_API_KEY || undefined;
  if (!apiKey) {
    try {
      apiKey = readFileSync(dataFiles(config.dataDir).apiKey, 'utf8').trim() || undefined;
    } catch {
      apiKey = undefined;
    }
  }
  return { url, apiKey };
}

/** The key, or an error that says where keys come from. */
export function requireApiKey(conn: ServerConnection): string {
  if (conn.apiKey) return conn.apiKey;
  throw new Error(
    `no API key for ${conn.url}: set NOVITA_API_KEY (or E2B_API_KEY) to a key from \`sandcastle keys create\`, ` +
      `or run this where the server's data folder (SANDCASTLE_DATA_DIR) is readable`,
  );
}

/** An answer other than 2xx, with its status for callers that treat some (404) specially. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A control-plane request with the key; resolves to the parsed JSON body (undefined when empty). */
export async function apiCall(conn: ServerConnection, method: string, pathname: string): Promise<unknown> {
  const key = requireApiKey(conn);
  const res = await fetch(`${conn.url}${pathname}`, { method, headers: { 'X-API-KEY': key } }).catch((err: Error) => {
    const cause = (err.cause as Error | undefined)?.message ?? err.message;
    throw new Error(`cannot reach the Sandcastle server at ${conn.url} (${cause}); is \`sandcastle serve\` running?`);
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const message = (body as { message?: string } | undefined)?.message ?? (text.slice(0, 200) || res.statusText);
    throw new ApiError(res.status, `${method} ${conn.url}${pathname}: ${res.status} ${message}`);
  }
  return body;
}
