// Shared by envd's tests: runs envd as a child process on 127.0.0.1 (a free port) with a fake
// /etc/passwd and /etc/group in a temporary directory, and gives Connect clients for it.
import { createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Filesystem } from './gen/envd/filesystem_pb.js';
import { Process } from './gen/envd/process_pb.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');

/** uid/gid of the fake `user` (exists only in the fake passwd; root can still run as it). */
export const userUid = 4242;
export const userGid = 4242;
export const sudoGid = 4343;

export interface Envd {
  url: string;
  token: string;
  /** Temporary root: holds the fake passwd/group and `home/user`. */
  dir: string;
  home: string;
  child: ChildProcess;
  process: Client<typeof Process>;
  filesystem: Client<typeof Filesystem>;
  /** Clients acting as another user (Basic auth) or with another token. */
  clients(opts: { user?: string; token?: string | null }): { process: Client<typeof Process>; filesystem: Client<typeof Filesystem> };
  fetch(pathAndQuery: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  stop(): Promise<void>;
}

export interface EnvdOptions {
  /** Command that runs envd (default: main.ts through tsx). */
  command?: string[];
  init?: Record<string, unknown> | null;
}

function connectClients(url: string, token: string | null, user: string | undefined) {
  const headers: Interceptor = (next) => (req) => {
    if (token !== null) req.header.set('X-Access-Token', token);
    if (user !== undefined) req.header.set('Authorization', `Basic ${Buffer.from(`${user}:`).toString('base64')}`);
    return next(req);
  };
  const transport = createConnectTransport({ baseUrl: url, httpVersion: '1.1', useBinaryFormat: false, interceptors: [headers] });
  return { process: createClient(Process, transport), filesystem: createClient(Filesystem, transport) };
}

export async function startEnvd(opts: EnvdOptions = {}): Promise<Envd> {
  const dir = await mkdtemp(path.join(tmpdir(), 'envd-test-'));
  await chmod(dir, 0o755); // the fake user must be able to reach its home below it
  const home = path.join(dir, 'home', 'user');
  await mkdir(home, { recursive: true });
  await chown(home, userUid, userGid);
  await writeFile(
    path.join(dir, 'passwd'),
    `root:x:0:0:root:/root:/bin/bash\nuser:x:${userUid}:${userGid}:user:${home}:/bin/bash\n`,
  );
  await writeFile(path.join(dir, 'group'), `root:x:0:\nuser:x:${userGid}:\nsudo:x:${sudoGid}:user\n`);

  const command = opts.command ?? [process.execPath, '--import', 'tsx', path.join(here, 'main.ts')];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: repoRoot,
    env: {
      ...process.env,
      ENVD_HOST: '127.0.0.1',
      ENVD_PORT: '0',
      ENVD_PASSWD: path.join(dir, 'passwd'),
      ENVD_GROUP: path.join(dir, 'group'),
      ENVD_ENVS_FILE: path.join(dir, 'run', 'envs.json'),
      ENVD_DOTFILES_DIR: path.join(dir, 'run', 'e2b'),
      ENVD_LOG_FILE: path.join(dir, 'run', 'envd.log'),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const m = /listening on .*:(\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`envd exited early (${code})`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const token = `token-${Math.random().toString(36).slice(2)}`;

  const fetchEnvd = (pathAndQuery: string, init: RequestInit & { token?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    const t = init.token === undefined ? token : init.token;
    if (t !== null) headers.set('X-Access-Token', t);
    return fetch(url + pathAndQuery, { ...init, headers });
  };

  if (opts.init !== null) {
    const res = await fetchEnvd('/init', {
      method: 'POST',
      token: null,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ accessToken: token, envVars: { GLOBAL_VAR: 'global' }, ...opts.init }),
    });
    if (res.status !== 204) throw new Error(`/init answered ${res.status}`);
  }

  return {
    url,
    token,
    dir,
    home,
    child,
    ...connectClients(url, token, undefined),
    clients: ({ user, token: t }) => connectClients(url, t === undefined ? token : t, user),
    fetch: fetchEnvd,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Collects a process stream into its parts. */
export async function collect(stream: AsyncIterable<{ event?: { event: { case: string | undefined; value?: unknown } } }>) {
  const out = { pid: 0, stdout: '', stderr: '', pty: '', stdoutChunks: [] as Buffer[], keepalives: 0, end: undefined as undefined | Record<string, unknown>, order: [] as string[] };
  for await (const msg of stream) {
    const e = msg.event?.event;
    if (!e?.case) continue;
    out.order.push(e.case);
    if (e.case === 'start') out.pid = (e.value as { pid: number }).pid;
    else if (e.case === 'keepalive') out.keepalives++;
    else if (e.case === 'end') out.end = e.value as Record<string, unknown>;
    else if (e.case === 'data') {
      const o = (e.value as { output: { case: 'stdout' | 'stderr' | 'pty'; value: Uint8Array } }).output;
      // Each event decoded on its own, as novita-sandbox does; stdout's events also kept as sent.
      out[o.case] += Buffer.from(o.value).toString('utf8');
      if (o.case === 'stdout') out.stdoutChunks.push(Buffer.from(o.value));
    }
  }
  return out;
}
