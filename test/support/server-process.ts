// Starts the real `sandcastle serve` as a child process for integration tests, on a free port with
// its own database, sandbox folder and runc state, sharing the templates that setup built.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before } from 'node:test';
import { dataFiles, installDir } from '../../src/config.js';
import { fastCreatePreparedMessage } from '../../src/sandboxes/create.js';
import { waitFor } from './wait-for.js';

export interface ServerProcess {
  url: string;
  /** The API key the server made at its first start (in `<dataDir>/api-key`). */
  apiKey: string;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  child: ChildProcess;
  /** Output the server printed so far (for assertions and for failure messages). */
  output(): string;
  /** SIGTERM and wait; sandboxes stay up (that is the server's contract). */
  stop(): Promise<void>;
  /** SIGKILL and wait, as a crash would. */
  crash(): Promise<void>;
}

export interface StartOptions {
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Resolve only once fast creates are prepared (fastCreatePrepared): what benchmarks measure. */
  prepared?: boolean;
}

export async function startServerProcess(opts: StartOptions = {}): Promise<ServerProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'sandcastle-test-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SANDCASTLE_DATA_DIR: dataDir,
    SANDCASTLE_TEMPLATES_DIR: process.env.SANDCASTLE_TEMPLATES_DIR ?? '/var/lib/sandcastle/templates',
    SANDCASTLE_RUNC_ROOT: path.join(dataDir, 'runc'),
    SANDCASTLE_PORT: '0',
    // 443 and 80 are one per machine: only a test that needs the public URLs asks for them.
    SANDCASTLE_HTTPS_PORT: '0',
    SANDCASTLE_HTTP_PORT: '0',
    // Servers of concurrent test runs must not lease the same sandbox addresses.
    SANDCASTLE_NETWORK_CIDR: `10.${64 + Math.floor(Math.random() * 128)}.0.0/16`,
    ...opts.env,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(installDir, 'src/cli/main.ts'), 'serve'], {
    env,
    cwd: installDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const listening = new Promise<string>((resolve, reject) => {
    // Killed, or it would keep the test process (and the suite) waiting for it forever.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in 60 s:\n${out}`));
    }, 60_000);
    const check = () => {
      const m = /listening on (http:\/\/[^\s"]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
  let url: string;
  try {
    url = await listening;
  } catch (err) {
    // A folder this function made is its to remove when the server never came up.
    if (!opts.dataDir) {
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
    throw err;
  }

  const waitExit = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  const server: ServerProcess = {
    url,
    apiKey: readFileSync(dataFiles(dataDir).apiKey, 'utf8').trim(),
    dataDir,
    env,
    child,
    output: () => out,
    stop: () => waitExit('SIGTERM'),
    crash: () => waitExit('SIGKILL'),
  };
  if (opts.prepared) await fastCreatePrepared(server);
  return server;
}

/** A control-plane request with the server's API key, as the SDKs send it. */
export function apiFetch(server: ServerProcess, pathname: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}${pathname}`, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), 'X-API-KEY': server.apiKey } });
}

/** Kills every sandbox the server still has, stops it and removes its data folder. */
export async function disposeServer(server: ServerProcess): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) {
    const res = await apiFetch(server, '/v2/sandboxes');
    const items = (await res.json()) as Array<{ sandboxID: string }>;
    await Promise.all(items.map((s) => apiFetch(server, `/sandboxes/${s.sandboxID}`, { method: 'DELETE' })));
    await server.stop();
  }
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.includes(server.dataDir));
  if (mounts.length) {
    throw new Error(`the server left mounts behind:\n${mounts.join('\n')}\n--- server output ---\n${server.output()}`);
  }
  // Sandbox disks are loop-mounted files of the data folder; unmounting them frees their devices
  // (the kernel detaches an auto-clear loop device in the background).
  const loops = await waitFor('the loop devices of the data folder to be freed', async () => loopDevicesOf(server.dataDir), (l) => l.length === 0, 5_000).catch(() => loopDevicesOf(server.dataDir));
  if (loops.length) {
    throw new Error(`the server left loop devices behind:\n${loops.join('\n')}\n--- server output ---\n${server.output()}`);
  }
  rmSync(server.dataDir, { recursive: true, force: true });
}

/** Loop devices (`/dev/loopN backing-file`) whose backing file's path contains `fragment`. */
export function loopDevicesOf(fragment: string): string[] {
  const out = execFileSync('losetup', ['-l', '-n', '-O', 'NAME,BACK-FILE'], { encoding: 'utf8' });
  return out.split('\n').map((l) => l.trim()).filter((l) => l.includes(fragment));
}

/** Resolves once the server has saved every template's boot state and filled its warm pools
 *  after its start: its own containers no longer come and go, creates restore instead of boot. */
export async function fastCreatePrepared(server: ServerProcess, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!server.output().includes(fastCreatePreparedMessage)) {
    if (Date.now() > deadline) throw new Error(`the server did not prepare fast creates within ${timeoutMs / 1000} s:\n${server.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Points the SDKs at the server, as the README tells users to. */
export function useServer(server: ServerProcess): void {
  process.env.NOVITA_API_URL = server.url;
  process.env.NOVITA_SANDBOX_URL = server.url;
  process.env.E2B_API_URL = server.url;
  process.env.E2B_SANDBOX_URL = server.url;
  process.env.NOVITA_API_KEY = server.apiKey;
  process.env.E2B_API_KEY = server.apiKey;
}

/**
 * Starts a server for the test file before its tests (SDKs pointed at it) and disposes of it
 * after them. The getter gives the current server (a test may replace it, e.g. after a restart).
 */
export function useTestServer(opts: StartOptions = {}): { current(): ServerProcess; replace(next: ServerProcess): void } {
  let server: ServerProcess | undefined;
  before(async () => {
    server = await startServerProcess(opts);
    useServer(server);
  });
  after(async () => {
    if (server) await disposeServer(server);
  });
  return {
    current: () => server!,
    replace(next) {
      server = next;
      useServer(next);
    },
  };
}

/**
 * Runs a script in a child process with only the settings the README gives users for public URLs:
 * NOVITA_API_URL, NOVITA_DOMAIN and NODE_EXTRA_CA_CERTS, and no NOVITA_SANDBOX_URL (the child's
 * own environment, since Node reads NODE_EXTRA_CA_CERTS at start). Resolves to its stdout.
 */
export async function runWithPublicUrlSettings(server: ServerProcess, file: string, domain: string): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NOVITA_API_URL: server.url,
    NOVITA_DOMAIN: domain,
    NODE_EXTRA_CA_CERTS: path.join(dataFiles(server.dataDir).tls, 'ca.pem'),
  };
  delete env.NOVITA_SANDBOX_URL;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], { cwd: installDir, env, timeout: 120_000 });
  return stdout;
}
