// Runs one template build: the base (a local template, or an image pulled from a registry), then
// each step in order, each step's result a read-only layer found again by its cache key, then the
// template's start and ready commands. Knows nothing of HTTP; reports through `log`.
import { randomBytes } from 'node:crypto';
import { mkdir, realpath, rename, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { IdMapping } from '../../runtime/id-mapping.js';
import type { BuildSandboxes } from '../../sandboxes/build-sandboxes.js';
import type { BuildLogEntry } from '../../store/template-build-store.js';
import type { TemplateRecord } from '../../store/template-store.js';
import { type BuildStep, baseKey, stepKey } from './build-steps.js';
import { touchLayers } from './layer-cache.js';
import { LayeredRoot, makeFoldersLike, sandboxUser, writeCopyLayer, writeUserAccountLayer } from './host-layers.js';

/** A build failure the user caused or can fix: its message is the build's reason. */
export class BuildFailure extends Error {
  constructor(message: string, readonly step?: string) {
    super(message);
  }
}

/** What a build starts from. */
export interface BuildBase {
  /** Cache key of the base: same key, same file system. */
  key: string;
  layers: string[];
  envVars: Record<string, string>;
  user: string;
  workdir: string | null;
}

export interface BuilderDeps {
  layersDir: string;
  /** The sandboxes' user-namespace mapping: layers written from the host give owners its ids. */
  userns?: IdMapping;
  /** This build's scratch folder (same file system as layersDir), removed afterwards. */
  workDir: string;
  sandboxes: BuildSandboxes;
  /** The gzip tar uploaded for a files hash, or undefined when none was. */
  uploadOf(hash: string): string | undefined;
  log(entry: Omit<BuildLogEntry, 'timestamp'>): void;
  signal: AbortSignal;
}

export interface BuildSize {
  cpuCount: number;
  memoryMB: number;
  diskSizeMB: number;
}

/** How many trailing output lines a failed RUN reports. */
const failedRunLines = 20;

export class TemplateBuilder {
  private layers: string[];
  private key: string;
  private envVars: Record<string, string>;
  private user: string;
  private workdir: string | null;
  /** Set by `force` on a step (or the whole build): that step and all after it are rebuilt. */
  private forced: boolean;

  constructor(base: BuildBase, private readonly size: BuildSize, private readonly deps: BuilderDeps, force: boolean) {
    this.layers = base.layers;
    this.key = base.key;
    this.envVars = { ...base.envVars };
    this.user = base.user;
    this.workdir = base.workdir;
    this.forced = force;
  }

  /** The image's `user` account, added as a layer when it lacks one. */
  async addUserAccount(): Promise<void> {
    const key = baseKey(`${this.key};user-account`);
    await this.layer(key, 'base', 'adding the user account', async (dir) => {
      await writeUserAccountLayer(dir, new LayeredRoot(this.layers, this.deps.userns));
    });
  }

  async runSteps(steps: BuildStep[]): Promise<void> {
    for (const [i, step] of steps.entries()) {
      const n = String(i + 1);
      if (this.deps.signal.aborted) throw new BuildFailure('the build was cancelled', n);
      if (step.force) this.forced = true;
      const key = stepKey(this.key, step);
      const label = `[${n}/${steps.length}] ${step.type} ${step.args.filter(Boolean).join(' ')}`;
      switch (step.type) {
        case 'ENV':
          for (let j = 0; j + 1 < step.args.length; j += 2) this.envVars[step.args[j]!] = step.args[j + 1]!;
          this.deps.log({ level: 'info', message: label, step: n });
          this.key = key;
          break;
        case 'USER':
          this.user = step.args[0]!;
          this.deps.log({ level: 'info', message: label, step: n });
          this.key = key;
          break;
        case 'WORKDIR': {
          const dir = path.posix.resolve('/', this.workdir ?? sandboxUser.home, step.args[0]!);
          await this.layer(key, n, label, async (layer) => {
            const root = new LayeredRoot(this.layers, this.deps.userns);
            await makeFoldersLike(layer, root, await root.resolve(dir), await root.account(this.user).catch(() => undefined));
          });
          this.workdir = dir;
          break;
        }
        case 'COPY':
          await this.layer(key, n, label, (layer, scratch) => this.copy(step, n, layer, scratch));
          break;
        case 'RUN':
          await this.layer(key, n, label, (layer) => this.run(step, n, layer), true);
          break;
      }
    }
  }

  private async copy(step: BuildStep, n: string, layer: string, scratch: string): Promise<void> {
    const tar = this.deps.uploadOf(step.filesHash!);
    if (!tar) throw new BuildFailure(`step ${n} (COPY ${step.args[0]}): the files (hash ${step.filesHash}) were never uploaded`, n);
    const root = new LayeredRoot(this.layers, this.deps.userns);
    const [src, dest, user, mode] = step.args as [string, string, string?, string?];
    try {
      const owner = await root.account(user || this.user);
      await writeCopyLayer(layer, root, tar, scratch, { src, dest, owner, mode: mode ? parseInt(mode, 8) : undefined, workdir: this.workdir ?? sandboxUser.home });
    } catch (err) {
      throw new BuildFailure(`step ${n} (COPY ${src} ${dest}) failed: ${(err as Error).message}`, n);
    }
  }

  private async run(step: BuildStep, n: string, layer: string): Promise<void> {
    const [command, user] = step.args as [string, string?];
    const sandbox = await this.deps.sandboxes.open(this.layers, this.size);
    let tail = '';
    try {
      const end = await sandbox.run(command, {
        user: user || this.user,
        cwd: this.workdir ?? undefined,
        envs: this.envVars,
        signal: this.deps.signal,
        onOutput: (text, stream) => {
          tail = (tail + text).slice(-8000);
          for (const line of text.split('\n')) if (line.trim()) this.deps.log({ level: stream === 'stderr' ? 'warn' : 'info', message: line, step: n });
        },
      });
      if (end.exitCode !== 0 || end.error) {
        const last = tail.trimEnd().split('\n').slice(-failedRunLines).join('\n');
        throw new BuildFailure(
          `step ${n} (RUN ${command}) failed with exit code ${end.exitCode}${end.error ? ` (${end.error})` : ''}; last output:\n${last || '(none)'}`,
          n,
        );
      }
      await sandbox.commit(layer);
    } finally {
      await sandbox.close();
    }
  }

  /**
   * Puts the layer of `key` on top: found in the cache (unless forced), or made by `make` into a
   * fresh folder that becomes a layer only once complete. Layers are never changed or replaced
   * in place (templates and sandboxes use them): the cache entry `step-<key>` is a symbolic link
   * to the newest layer of that key, and a template records the layer's own folder.
   * `intoNew`: `make` creates the folder itself (a sandbox commit), else it gets an empty one.
   */
  private async layer(key: string, n: string, label: string, make: (dir: string, scratch: string) => Promise<void>, intoNew = false): Promise<void> {
    const link = path.join(this.deps.layersDir, `step-${key}`);
    const cached = this.forced ? undefined : await realpath(link).catch(() => undefined);
    if (cached) {
      await touchLayers([cached]);
      this.deps.log({ level: 'info', message: `CACHED ${label}`, step: n });
      this.layers = [cached, ...this.layers];
      this.key = key;
      return;
    }
    const started = Date.now();
    this.deps.log({ level: 'info', message: label, step: n });
    const scratch = path.join(this.deps.workDir, `step-${n}-${randomBytes(4).toString('hex')}`);
    const dir = path.join(scratch, 'layer');
    const final = path.join(this.deps.layersDir, `${key}.${randomBytes(6).toString('hex')}`);
    await mkdir(intoNew ? scratch : dir, { recursive: true });
    try {
      await make(dir, scratch);
      await mkdir(this.deps.layersDir, { recursive: true });
      await rename(dir, final);
      const tmpLink = `${link}.${randomBytes(6).toString('hex')}`;
      await symlink(path.basename(final), tmpLink);
      await rename(tmpLink, link);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    this.deps.log({ level: 'info', message: `step ${n} done in ${((Date.now() - started) / 1000).toFixed(1)} s`, step: n });
    this.layers = [final, ...this.layers];
    this.key = key;
  }

  /** The template sandboxes start from once the start and ready commands pass. */
  result(fields: Pick<TemplateRecord, 'id' | 'alias' | 'buildId' | 'createdAt'>, startCmd: string | null, readyCmd: string | null): TemplateRecord {
    return {
      ...fields,
      layers: this.layers,
      ...this.size,
      startCmd: null,
      readyPort: null,
      envVars: this.envVars,
      defaultUser: this.user,
      defaultWorkdir: this.workdir,
      serviceCmd: startCmd,
      readyCmd,
      public: false,
    };
  }
}

