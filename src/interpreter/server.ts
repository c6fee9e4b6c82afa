// The code-interpreter HTTP API on port 49999 (protocol §5): /execute streams NDJSON events,
// /contexts manages contexts. Errors are plain text, as the SDK shows the body of a 404 and only
// the status of anything else.
import http from 'node:http';
import { sendJson } from '../envd/http/http-util.js';
import type { FreedMemory } from '../envd/memory-trim.js';
import { ContextError, type Contexts, type ExecutionStream } from './contexts.js';
import { errorEvent, eventLine, wireEvents, type OutputEvent } from './events.js';
import { validEnvName } from './global-envs.js';
import { languages, normalizeLanguage, type Language } from './kernel.js';
import { missingKernel } from './kernelspecs.js';

const maxBodyBytes = 64 * 1024 * 1024;

export interface InterpreterServerOptions {
  contexts: Contexts;
  /** The context that runs code sent without context or language. */
  defaultContextId: () => string;
  /** Gives back the memory an execution's output leaves behind. */
  freedMemory: FreedMemory;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function readBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        reject(new HttpError(413, `request body is larger than ${maxBodyBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'request body must be a JSON object');
  return body as Record<string, unknown>;
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, `${field} must be a string`);
  return value;
}

function parseLanguage(name: string): Language {
  const language = normalizeLanguage(name);
  if (!language) throw new HttpError(400, `language '${name}' is not supported; supported languages: ${languages.join(', ')}`);
  return language;
}

function parseEnvs(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, 'env_vars must be an object of strings');
  const envs: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new HttpError(400, `env_vars.${key} must be a string`);
    if (!validEnvName(key)) throw new HttpError(400, `env_vars has an invalid name '${key}'`);
    envs[key] = v;
  }
  return envs;
}

/** The HTTP response as an execution's event stream: one JSON object per line, each written as it
 *  happens. Headers go out at once, so the client's request timeout covers only the connection. */
function ndjsonStream(req: http.IncomingMessage, res: http.ServerResponse): ExecutionStream {
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  res.flushHeaders();
  const listeners: Array<() => void> = [];
  let closed = false;
  res.on('close', () => {
    if (res.writableFinished) return;
    closed = true;
    for (const listener of listeners.splice(0)) listener();
  });
  req.on('error', () => {});
  return {
    send(event: OutputEvent) {
      if (closed) return;
      for (const part of wireEvents(event)) res.write(eventLine(part));
    },
    get closed() {
      return closed;
    },
    onClose(listener) {
      if (closed) listener();
      else listeners.push(listener);
    },
    end() {
      if (!closed) res.end();
    },
  };
}

export function createInterpreterServer({ contexts, defaultContextId, freedMemory }: InterpreterServerOptions): http.Server {
  const route = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://interpreter');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';

    if (parts.length === 1 && parts[0] === 'health' && method === 'GET') {
      // 200 once the default Python kernel can run code: what a readiness check waits for.
      const ready = contexts.isReady(defaultContextId());
      return sendJson(res, ready ? 200 : 503, { status: ready ? 'ok' : 'starting' });
    }

    if (parts.length === 1 && parts[0] === 'execute' && method === 'POST') {
      const body = asObject(await readBody(req));
      const code = body.code;
      if (typeof code !== 'string') throw new HttpError(400, 'code must be a string');
      const contextId = optionalString(body, 'context_id');
      const languageName = optionalString(body, 'language');
      if (contextId && languageName) throw new HttpError(400, 'Only one of context_id or language can be provided');
      const envs = parseEnvs(body.env_vars);
      const language = languageName === undefined ? undefined : parseLanguage(languageName);
      const missing = language && missingKernel(language);
      if (missing) {
        // An execution error, so that the SDK's user reads why (runCode shows only the status of a 400).
        const out = ndjsonStream(req, res);
        out.send(errorEvent('KernelNotInstalled', missing));
        out.send({ type: 'end_of_execution' });
        out.end();
        return;
      }
      let id = contextId;
      if (!id) id = language ? contexts.defaultFor(language).id : defaultContextId();
      if (!contexts.has(id)) throw new ContextError(404, `Context ${id} not found`);
      freedMemory.releaseWaiting();
      res.once('close', () => freedMemory.releaseSoon());
      await contexts.execute(id, code, envs, ndjsonStream(req, res));
      return;
    }

    if (parts[0] === 'contexts') {
      if (parts.length === 1 && method === 'POST') {
        const body = asObject(await readBody(req));
        const languageName = optionalString(body, 'language');
        const cwd = optionalString(body, 'cwd');
        const language = languageName ? parseLanguage(languageName) : 'python';
        const missing = missingKernel(language);
        if (missing) throw new HttpError(400, missing);
        return sendJson(res, 200, contexts.create(language, cwd || undefined));
      }
      if (parts.length === 1 && method === 'GET') return sendJson(res, 200, contexts.list());
      if (parts.length === 2 && method === 'DELETE') {
        contexts.remove(parts[1]!);
        res.writeHead(204).end();
        return;
      }
      if (parts.length === 3 && parts[2] === 'restart' && method === 'POST') {
        await contexts.restart(parts[1]!);
        res.writeHead(204).end();
        return;
      }
    }
    sendText(res, 404, `${method} ${url.pathname} is not an endpoint of the code interpreter`);
  };

  const server = http.createServer((req, res) => {
    route(req, res).catch((err: Error) => {
      const status = err instanceof HttpError || err instanceof ContextError ? err.status : 500;
      if (status === 500) console.error(`interpreter: ${req.method} ${req.url}: ${err.stack ?? err.message}`);
      if (res.headersSent) res.destroy();
      else sendText(res, status, err.message);
    });
  });
  // The proxy keeps connections to the sandbox alive between requests; closing an idle one just
  // as the proxy reuses it would fail that request, so idle connections stay open longer.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  return server;
}
