// A real OCI registry on loopback for tests (docker-registry, the CNCF distribution registry, with
// temporary storage) and images pushed to it from folders with umoci and skopeo: what a template
// build pulls, without Docker Hub.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RegistryAuth } from '../../src/templates/oci/pull-image.js';
import { currentBuildLink } from '../../src/templates/rootfs-builder.js';
import { freePort } from './free-port.js';

const run = promisify(execFile);

export interface TestRegistry {
  /** `127.0.0.1:PORT` (plain HTTP: list it in insecureRegistries). */
  host: string;
  stop(): Promise<void>;
}

/** The built-in `base` template's root file system (~330 MB of Debian), as the test servers
 *  find it. */
export function baseRootfsDir(): string {
  const dir = currentBuildLink(process.env.SANDCASTLE_TEMPLATES_DIR ?? '/var/lib/sandcastle/templates', 'base');
  if (!existsSync(dir)) throw new Error(`no base template at ${dir}: run node --import tsx scripts/build-templates.ts`);
  return dir;
}

/** Starts docker-registry on a free loopback port; with `auth`, it asks for those credentials
 *  (htpasswd, HTTP basic; distribution 2.8 does not insist on TLS for it). */
export async function startRegistry(opts: { auth?: RegistryAuth } = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-test-registry-'));
  try {
    let auth = '';
    if (opts.auth) {
      const { stdout } = await run('htpasswd', ['-Bbn', opts.auth.username, opts.auth.password]);
      await writeFile(path.join(dir, 'htpasswd'), stdout);
      auth = `auth:\n  htpasswd:\n    realm: sandcastle-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
    }
    // A port can be taken between choosing and binding it: try a few.
    for (let attempt = 1; ; attempt++) {
      const host = `127.0.0.1:${await freePort()}`;
      const config = path.join(dir, 'config.yml');
      await writeFile(
        config,
        `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'storage')}\n` +
          `http:\n  addr: ${host}\n  secret: sandcastle-test\n${auth}`,
      );
      const logFile = path.join(dir, 'registry.log');
      const logFd = openSync(logFile, 'w');
      const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', logFd, logFd] });
      closeSync(logFd);
      let spawnError: Error | undefined;
      const exited = new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.once('error', (e) => {
          spawnError = e;
          resolve();
        });
      });
      const stop = async () => {
        if (child.exitCode === null && child.signalCode === null && !spawnError) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        await rm(dir, { recursive: true, force: true });
      };
      try {
        await waitUntilServing(host, child, () => spawnError);
        return { host, stop };
      } catch (e) {
        const log = readFileSync(logFile, 'utf8');
        if (child.exitCode === null && !spawnError) child.kill('SIGKILL');
        await exited;
        if (attempt < 3 && /address already in use/.test(log)) continue;
        throw new Error(`docker-registry did not start on ${host}: ${(e as Error).message}; its log: ${log.trim().split('\n').slice(-5).join(' | ')}`);
      }
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function waitUntilServing(host: string, child: ChildProcess, spawnError: () => Error | undefined): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const failed = spawnError();
    if (failed) throw new Error(`cannot run docker-registry (scripts/setup-host.sh installs it): ${failed.message}`);
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`it exited (${child.signalCode ?? `status ${child.exitCode}`})`);
    try {
      const res = await fetch(`http://${host}/v2/`);
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('no answer on /v2/ within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ImageSettings {
  cmd?: string[];
  entrypoint?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
}

export interface PushOptions {
  config?: ImageSettings;
  /** Credentials of a registry started with `auth`. */
  auth?: RegistryAuth;
  /** Layer compression in the registry (umoci makes gzip; skopeo recompresses for zstd). */
  compression?: 'gzip' | 'zstd';
}

/** Pushes an image of one layer holding `rootfsDir` as `registry.host/name` (`name` is
 *  `repository:tag`; a Docker Hub mirror serves official images as `library/<name>`). */
export async function pushRootfs(registry: TestRegistry, name: string, rootfsDir: string, config?: ImageSettings, auth?: RegistryAuth): Promise<void> {
  await pushLayers(registry, name, [rootfsDir], { config, auth });
}

/** Pushes an image whose layers (bottom first) are the given folders, each archived verbatim:
 *  a file `.wh.x` or `.wh..wh..opq` in a folder is an OCI whiteout in that layer. The archives
 *  are byte-stable, so equal folders make layers of equal digest, shared between images. */
export async function pushLayers(registry: TestRegistry, name: string, layerDirs: readonly string[], opts: PushOptions = {}): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-test-image-'));
  try {
    const image = `${path.join(dir, 'layout')}:image`;
    await run('umoci', ['init', '--layout', path.join(dir, 'layout')]);
    await run('umoci', ['new', '--image', image]);
    for (const [i, layerDir] of layerDirs.entries()) {
      const tar = path.join(dir, `layer${i}.tar`);
      await run('tar', [
        '--create', `--file=${tar}`, `--directory=${layerDir}`, '--numeric-owner', '--xattrs', '--xattrs-include=*',
        '--sort=name', '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '.',
      ]);
      await run('umoci', ['raw', 'add-layer', '--image', image, tar]);
    }
    const c = opts.config ?? {};
    const settings = [
      ...(c.cmd ?? []).flatMap((a) => ['--config.cmd', a]),
      ...(c.entrypoint ?? []).flatMap((a) => ['--config.entrypoint', a]),
      ...(c.env ?? []).flatMap((e) => ['--config.env', e]),
      ...(c.workingDir ? ['--config.workingdir', c.workingDir] : []),
      ...(c.user ? ['--config.user', c.user] : []),
    ];
    if (settings.length > 0) await run('umoci', ['config', '--image', image, ...settings]);
    await run('skopeo', [
      '--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false',
      ...(opts.auth ? ['--dest-creds', `${opts.auth.username}:${opts.auth.password}`] : ['--dest-no-creds']),
      ...(opts.compression === 'zstd' ? ['--dest-compress-format', 'zstd'] : []),
      `oci:${image}`, `docker://${registry.host}/${name}`,
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function authHeader(auth?: RegistryAuth): Record<string, string> {
  return auth ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {};
}

const MANIFEST_TYPES = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json';

/** The digest the registry gives `repository:reference` (its Docker-Content-Digest). */
export async function manifestDigest(registry: TestRegistry, repository: string, reference: string, auth?: RegistryAuth): Promise<string> {
  const res = await fetch(`http://${registry.host}/v2/${repository}/manifests/${reference}`, { method: 'HEAD', headers: { accept: MANIFEST_TYPES, ...authHeader(auth) } });
  const digest = res.headers.get('docker-content-digest');
  if (!res.ok || !digest) throw new Error(`HEAD of ${repository}:${reference} on ${registry.host}: HTTP ${res.status}`);
  return digest;
}

/** Tags, as `repository:tag`, a multi-platform manifest list (OCI index) of images already pushed
 *  to that repository under the tags of `platforms` (`{ v1: 'linux/amd64', … }`). */
export async function pushManifestList(registry: TestRegistry, repository: string, tag: string, platforms: Record<string, string>, auth?: RegistryAuth): Promise<string> {
  const manifests = [];
  for (const [source, platform] of Object.entries(platforms)) {
    const res = await fetch(`http://${registry.host}/v2/${repository}/manifests/${source}`, { headers: { accept: MANIFEST_TYPES, ...authHeader(auth) } });
    if (!res.ok) throw new Error(`GET of ${repository}:${source} on ${registry.host}: HTTP ${res.status}`);
    const body = Buffer.from(await res.arrayBuffer());
    const [os, architecture] = platform.split('/');
    manifests.push({ mediaType: res.headers.get('content-type'), digest: res.headers.get('docker-content-digest'), size: body.length, platform: { os, architecture } });
  }
  const index = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests });
  const res = await fetch(`http://${registry.host}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT', body: index, headers: { 'content-type': 'application/vnd.oci.image.index.v1+json', ...authHeader(auth) },
  });
  if (!res.ok) throw new Error(`PUT of the manifest list ${repository}:${tag} on ${registry.host}: HTTP ${res.status} ${await res.text()}`);
  return res.headers.get('docker-content-digest')!;
}
