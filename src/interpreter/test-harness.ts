// Shared by the interpreter's tests on the host: bundles the interpreter as the sandbox gets it and
// runs it on a free loopback port with its own working directory, run folder and envs file.
// The host has no ipykernel, so these tests cover the server, contexts and the JavaScript,
// TypeScript and Bash kernels; Python runs in the integration tests inside real sandboxes.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../test/support/free-port.js';
import type { OutputEvent } from './events.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Interpreter {
  url: string;
  /** Working directory of contexts by default. */
  home: string;
  /** Where the sandbox-wide variables are read from (absent until a test writes it). */
  envsFile: string;
  /** POST /execute; the events, in order. */
  execute(body: Record<string, unknown>): Promise<OutputEvent[]>;
  /** POST /execute, handing each event to `onEvent` as it arrives; the response can be aborted. */
  stream(body: Record<string, unknown>, onEvent: (event: OutputEvent) => void, signal?: AbortSignal): Promise<void>;
  json(method: string, pathname: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  stop(): Promise<void>;
}

export async function bundleInterpreter(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'interpreter-bundle-'));
  await promisify(execFile)(process.execPath, [path.join(repoRoot, 'scripts', 'bundle-sandbox.mjs'), dir]);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function startInterpreter(bundleDir: string): Promise<Interpreter> {
  const dir = await mkdtemp(path.join(tmpdir(), 'interpreter-'));
  const home = path.join(dir, 'home');
  await mkdir(home);
  const envsFile = path.join(dir, 'envs.json');
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [path.join(bundleDir, 'interpreter.mjs')], {
    env: {
      PATH: process.env.PATH,
      SANDCASTLE_INTERPRETER_PORT: String(port),
      SANDCASTLE_INTERPRETER_CWD: home,
      SANDCASTLE_INTERPRETER_RUN_DIR: path.join(dir, 'run'),
      SANDCASTLE_INTERPRETER_USER: 'no-such-user-here',
      SANDCASTLE_ENVS_FILE: envsFile,
    },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the interpreter exited with ${child.exitCode}`);
    if (await fetch(`${url}/contexts`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 10));
  }

  const stream = async (body: Record<string, unknown>, onEvent: (event: OutputEvent) => void, signal?: AbortSignal) => {
    const res = await fetch(`${url}/execute`, { method: 'POST', body: JSON.stringify(body), signal });
    if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`);
    let buffer = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf('\n')) !== -1) {
        onEvent(JSON.parse(buffer.slice(0, newline)) as OutputEvent);
        buffer = buffer.slice(newline + 1);
      }
    }
    if (buffer !== '') throw new Error(`the stream ended inside a line: ${buffer}`);
  };

  return {
    url,
    home,
    envsFile,
    stream,
    async execute(body) {
      const events: OutputEvent[] = [];
      await stream(body, (e) => events.push(e));
      return events;
    },
    async json(method, pathname, body) {
      const res = await fetch(`${url}${pathname}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // plain-text error bodies stay text
      }
      return { status: res.status, body: parsed };
    },
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The text of every stdout event, joined. */
export function stdoutOf(events: OutputEvent[]): string {
  return events.map((e) => (e.type === 'stdout' ? e.text : '')).join('');
}
