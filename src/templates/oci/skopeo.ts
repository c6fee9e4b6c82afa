// skopeo, run so that only the pull's own settings count: the host's /etc/containers
// registries.conf (mirrors, blocked registries), signature policy and stored logins are not
// read, and credentials go through a private file, never the command line (which every local
// user can read in /proc).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { explainRegistryFailure } from './registry-errors.js';
import { ToolError, runTool } from './run-tool.js';

export interface RegistryAuth {
  username: string;
  password: string;
}

export interface SkopeoOptions {
  /** Sent only to `authRegistry` (the image's own registry), never to a mirror. */
  auth?: RegistryAuth;
  authRegistry: string;
  insecureRegistries: readonly string[];
  signal?: AbortSignal;
}

export class Skopeo {
  private constructor(
    private readonly dir: string,
    private readonly opts: SkopeoOptions,
  ) {}

  static async open(opts: SkopeoOptions): Promise<Skopeo> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-skopeo-'));
    await writeFile(path.join(dir, 'registries.conf'), '');
    if (opts.auth) {
      const auth = Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64');
      await writeFile(path.join(dir, 'auth.json'), JSON.stringify({ auths: { [opts.authRegistry]: { auth } } }), { mode: 0o600 });
    }
    return new Skopeo(dir, opts);
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  /** The manifest (or manifest list) `image` names, byte for byte as the registry serves it. */
  inspectRaw(image: string, registry: string, displayName: string): Promise<Buffer> {
    return this.run(['inspect', '--raw', ...this.access(registry, ''), `docker://${image}`], registry, displayName);
  }

  /** Copies `image` (pinned by digest) into the OCI layout `layoutDir` under `name`, skipping
   *  blobs the layout already holds; resolves to the digest of the manifest written there
   *  (skopeo converts a Docker manifest to OCI, so it may differ from the registry's). */
  async copyToLayout(image: string, registry: string, layoutDir: string, name: string, displayName: string): Promise<string> {
    const digestFile = path.join(this.dir, 'digest');
    await this.run(
      [
        'copy', '--quiet', '--retry-times', '2', ...this.access(registry, 'src-'),
        // Keep uncompressed layers as they are: skopeo would otherwise gzip them, only for us to unpack.
        '--dest-oci-accept-uncompressed-layers', '--digestfile', digestFile,
        `docker://${image}`, `oci:${layoutDir}:${name}`,
      ],
      registry,
      displayName,
    );
    return (await readFile(digestFile, 'utf8')).trim();
  }

  private access(registry: string, prefix: '' | 'src-'): string[] {
    const args = [`--${prefix}tls-verify=${!this.opts.insecureRegistries.includes(registry)}`];
    if (this.opts.auth && registry === this.opts.authRegistry) args.push(`--${prefix}authfile`, path.join(this.dir, 'auth.json'));
    else args.push(`--${prefix}no-creds`);
    return args;
  }

  private async run(args: string[], registry: string, displayName: string): Promise<Buffer> {
    const env = { ...process.env, CONTAINERS_REGISTRIES_CONF: path.join(this.dir, 'registries.conf') };
    try {
      return await runTool('skopeo', ['--insecure-policy', ...args], { signal: this.opts.signal, env });
    } catch (e) {
      if (!(e instanceof ToolError)) throw e;
      const username = this.opts.auth && registry === this.opts.authRegistry ? this.opts.auth.username : undefined;
      throw new Error(explainRegistryFailure(e.stderr, { image: displayName, registry, username }), { cause: e });
    }
  }
}
