// Where the CLI finds the server and the key to send it, read as the SDKs read them: the API URL
// from NOVITA_API_URL / E2B_API_URL, the key from NOVITA_API_KEY / E2B_API_KEY, the sandbox
// domain from NOVITA_DOMAIN / E2B_DOMAIN and envd's URL from NOVITA_SANDBOX_URL / E2B_SANDBOX_URL.
// What is not set comes from this machine's server: its configured address, and the key it wrote
// into its data folder at its first start (`--data-dir`, else SANDCASTLE_DATA_DIR, as `serve`).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { dataFiles, loadConfig } from '../config.js';

export interface ServerConnection {
  url: string;
  apiKey: string | undefined;
  /** The data folder the key fallback read (or would have). */
  dataDir: string;
  /** Sandbox domain for envd's `49983-{id}.{domain}` when the user set one. */
  domain: string | undefined;
  /** Where envd is reached when no domain is set: the server's own port relays it. */
  sandboxUrl: string | undefined;
}

/** The option every command that reaches the server or its database takes. */
export interface DataDirOption {
  dataDir?: string;
}

export function addDataDirOption(cmd: Command): Command {
  return cmd.option('--data-dir <path>', "the local server's data folder, for its address and API key (SANDCASTLE_DATA_DIR)");
}

const env = (...names: string[]) => names.map((n) => process.env[n]).find((v) => v !== undefined && v !== '');

/** The data folder `serve` would use with the same flag and environment. */
export function resolveDataDir(opts: DataDirOption = {}): string {
  return loadConfig(opts.dataDir ? { dataDir: opts.dataDir } : {}).dataDir;
}

export function serverConnection(opts: DataDirOption = {}): ServerConnection {
  const config = loadConfig(opts.dataDir ? { dataDir: opts.dataDir } : {});
  const url = (env('NOVITA_API_URL', 'E2B_API_URL') ?? `http://${config.host}:${config.port}`).replace(/\/+$/, '');
  let apiKey = env('NOVITA_API_KEY', 'E2B_API_KEY');
  if (!apiKey) {
    try {
      apiKey = readFileSync(dataFiles(config.dataDir).apiKey, 'utf8').trim() || undefined;
    } catch {
      apiKey = undefined;
    }
  }
  const domain = env('NOVITA_DOMAIN', 'E2B_DOMAIN');
  const sandboxUrl = env('NOVITA_SANDBOX_URL', 'E2B_SANDBOX_URL') ?? (domain ? undefined : url);
  return { url, apiKey, dataDir: config.dataDir, domain, sandboxUrl };
}

/** The key, or an error that says which variable to set. */
export function requireApiKey(conn: ServerConnection): string {
  if (conn.apiKey) return conn.apiKey;
  throw new Error(
    `no API key for ${conn.url}: set NOVITA_API_KEY (or E2B_API_KEY) to a key from \`sandcastle keys create\`, ` +
      `or run this where the server's data folder (${conn.dataDir}; --data-dir or SANDCASTLE_DATA_DIR) is readable`,
  );
}

/** The connection options of the e2b SDK for this server. */
export function sdkOptions(conn: ServerConnection) {
  return {
    apiKey: requireApiKey(conn),
    apiUrl: conn.url,
    ...(conn.domain ? { domain: conn.domain } : {}),
    ...(conn.sandboxUrl ? { sandboxUrl: conn.sandboxUrl } : {}),
  };
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
export async function apiCall(conn: ServerConnection, method: string, pathname: string, body?: unknown): Promise<unknown> {
  const key = requireApiKey(conn);
  const headers: Record<string, string> = { 'X-API-KEY': key };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${conn.url}${pathname}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }).catch((err: Error) => {
    const cause = (err.cause as Error | undefined)?.message ?? err.message;
    throw new Error(`cannot reach the Sandcastle server at ${conn.url} (${cause}); is \`sandcastle serve\` running?`);
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const message = (parsed as { message?: string } | undefined)?.message ?? (text.slice(0, 200) || res.statusText);
    throw new ApiError(res.status, `${method} ${conn.url}${pathname}: ${res.status} ${message}`);
  }
  return parsed;
}
