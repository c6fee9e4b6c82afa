// The default backend: each sandbox an OCI container run by runc over an overlay filesystem
// (read-only template layers + a per-sandbox writable layer), in its own network namespace.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { createNetns, deleteNetns, netnsPath } from './netns.js';
import { buildOciSpec } from './oci-spec.js';
import { runCommand } from './run-command.js';
import type { Runtime, SandboxSpec, SandboxStats } from './runtime.js';

interface RuncState {
  id: string;
  status: string;
}

export class RuncRuntime implements Runtime {
  readonly name = 'runc';
  private readonly sandboxesDir: string;

  constructor(private readonly config: Config) {
    this.sandboxesDir = path.join(config.dataDir, 'sandboxes');
  }

  private bundleDir(id: string): string {
    return path.join(this.sandboxesDir, id);
  }

  private runc(args: string[]): Promise<string> {
    return runCommand(this.config.runcPath, ['--root', this.config.runcRoot, ...args]);
  }

  /** `runc run --detach`: the container inherits runc's stdio, so it gets /dev/null (CRIU needs
   *  that too) and runc's own messages go to a log file that a failure is explained from. */
  private async runDetached(bundle: string, id: string): Promise<void> {
    const log = path.join(bundle, 'runc.log');
    try {
      await runCommand(this.config.runcPath, ['--root', this.config.runcRoot, '--log', log, 'run', '--detach', '--bundle', bundle, id], { quiet: true });
    } catch (err) {
      const detail = await readFile(log, 'utf8').then((s) => s.trim().split('\n').slice(-3).join(' | '), () => '');
      throw new Error(`${(err as Error).message}${detail ? `: ${detail}` : ''}`);
    }
  }

  async create(spec: SandboxSpec): Promise<void> {
    const bundle = this.bundleDir(spec.id);
    const rootfs = path.join(bundle, 'rootfs');
    try {
      await Promise.all([
        mkdir(path.join(bundle, 'upper'), { recursive: true }),
        mkdir(path.join(bundle, 'work'), { recursive: true }),
        mkdir(rootfs, { recursive: true }),
      ]);
      const ociSpec = buildOciSpec({
        spec,
        netnsPath: netnsPath(spec.id),
        nodePath: this.config.nodePath,
        bundleDir: this.config.sandboxBundleDir,
      });
      await Promise.all([
        writeFile(path.join(bundle, 'config.json'), JSON.stringify(ociSpec)),
        runCommand('mount', [
          '-t', 'overlay', 'overlay',
          '-o', `lowerdir=${spec.layers.join(':')},upperdir=${bundle}/upper,workdir=${bundle}/work`,
          rootfs,
        ]),
        createNetns(spec.id, spec.network),
      ]);
      await this.runDetached(bundle, spec.id);
    } catch (err) {
      await this.destroy(spec.id).catch(() => undefined);
      throw err;
    }
  }

  async destroy(id: string): Promise<void> {
    const bundle = this.bundleDir(id);
    // runc exits 1 when the container does not exist; that is what we want it to be anyway.
    if (existsSync(path.join(this.config.runcRoot, id))) await this.runc(['delete', '--force', id]);
    const rootfs = path.join(bundle, 'rootfs');
    if (await isMountPoint(rootfs)) await runCommand('umount', [rootfs]);
    await deleteNetns(id);
    await rm(bundle, { recursive: true, force: true });
  }

  async listRunning(): Promise<string[]> {
    const out = await this.runc(['list', '--format', 'json']);
    const states = (JSON.parse(out || 'null') ?? []) as RuncState[];
    return states.filter((s) => s.status === 'running').map((s) => s.id);
  }

  async listPresent(): Promise<string[]> {
    // The bundle folder is made before any other resource and removed after all of them, so
    // together with runc's own state it names everything this server may have left behind.
    const [containers, bundles] = await Promise.all([
      readdir(this.config.runcRoot).catch(() => [] as string[]),
      readdir(this.sandboxesDir).catch(() => [] as string[]),
    ]);
    return [...new Set([...containers, ...bundles])];
  }

  async stats(id: string): Promise<SandboxStats | undefined> {
    const cg = (controller: string, file: string) =>
      readFile(`/sys/fs/cgroup/${controller}/sandcastle/${id}/${file}`, 'utf8').then((s) => Number(s.trim()));
    try {
      const [cpuUsageNs, memoryUsedBytes, memoryLimitBytes, pids] = await Promise.all([
        cg('cpuacct', 'cpuacct.usage'),
        cg('memory', 'memory.usage_in_bytes'),
        cg('memory', 'memory.limit_in_bytes'),
        cg('pids', 'pids.current'),
      ]);
      return { cpuUsageNs, memoryUsedBytes, memoryLimitBytes, pids };
    } catch {
      return undefined;
    }
  }
}

async function isMountPoint(dir: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[1] === dir);
}
