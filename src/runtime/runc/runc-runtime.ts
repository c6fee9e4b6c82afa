// The default backend: each sandbox an OCI container run by runc over an overlay filesystem
// (read-only template layers + a per-sandbox writable layer), in its own network namespace, and
// checkpointed/restored with CRIU through runc.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, readdir, readFile, rename, rm, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Config, dataFiles } from '../../config.js';
import { checkpointImage, checkpointUpper, checkpointWork, type CheckpointDurability, durabilityOf, durableCheckpoint, isCheckpointWhole, replaceCheckpoint } from './checkpoint-layout.js';
import { criuErrors, finishedDump } from './criu-log.js';
import { criuEnv, criuOptions } from './criu-options.js';
import { imageWithHostname } from './criu-image.js';
import { routedNetworks } from '../network/host-routes.js';
import { type LazyPages, lazyPagesFor } from './restore-lazy.js';
import { savedStateKey } from './saved-state-key.js';
import { prepareSandboxTools, type SandboxTools } from './sandbox-tools.js';
import { Egress } from '../network/egress.js';
import { createNetns, deleteNetns, netnsName, netnsPath, setEgress } from '../network/netns.js';
import { type CgroupLayout, detectCgroupLayout, sandboxCgroupDirsEverywhere } from './cgroup-layout.js';
import { readCgroupStats } from './cgroup-stats.js';
import { buildOciSpec, initArgs, processSecurityFingerprint } from './oci-spec.js';
import { waitForHostProcesses } from './in-flight.js';
import { runCommand } from '../run-command.js';
import { envdLogName } from '../../envd/log-file.js';
import type { Logger } from '../../log.js';
import { hostMappingProblem } from '../id-mapping.js';
import { freezeCgroup, thawCgroup } from './cgroup-freezer.js';
import { checkPathToDataDir, ensureFuseDevice, letNamespacedRootThrough, openNetworkToNamespacedRoot } from './userns.js';
import { kernelLimitsFor, raiseKernelLimits } from './kernel-limits.js';
import { capSandboxPids } from './sandbox-pids-cap.js';
import { checkDiskSupport, diskPaths, diskUsedBytes, ensureDisk, removeDisk } from './sandbox-disk.js';
import { deleteContainer, removeCgroups } from './container-delete.js';
import { dropMountPoints, moveFolder } from './layer-commit.js';
import { mountOverlay } from './mount-helper.js';
import { isMountPoint, unmount } from './mounts.js';
import type { CheckpointMode, CheckpointRef, ContainerState, HostResources, RestoreSource, EgressPolicy, NetworkLease, Runtime, SandboxSpec, SandboxStats } from '../runtime.js';
import { readSandboxFile } from '../sandbox-file.js';

/** CRIU failures a dump a moment later does not meet (retryingPassingFailures). */
const passingDumpFailure = /Non-empty write queue on an in-flight socket|Found a closed in-flight socket/;
const passingDumpRetryDelaysMs = [20, 100, 400];

interface RuncState {
  id: string;
  status: string;
}

/**
 * Overlay options of every sandbox root besides its folders. `xino=on` makes every file and
 * folder report the overlay's device and the inode number the kernel itself uses (the one in
 * an inotify watch's fdinfo): without it a folder's stat gave another number than its inode
 * (overlay layers on two file systems), CRIU's walk of the watched folders (criu-options.ts)
 * never matched, and a sandbox with any inotify watch could not be paused, cloned or
 * snapshotted.
 */
const overlayFeatures = 'xino=on';

/** How long recovery waits for a checkpoint or restore a previous server process left going. */
const settleTimeoutMs = 120_000;

/** How long a discarded checkpoint waits before its files go. Freeing the pages of a 100 MiB image
 *  right after a resume made the sandbox's first command 2.8 ms slower (12.4 → 9.6 ms, the kernel's
 *  page freeing beside it; `nice` did not help): by then the first requests are done. */
const discardDelayMs = 2_000;

export class RuncRuntime implements Runtime {
  readonly name = 'runc';
  private readonly sandboxesDir: string;
  private readonly cgroups: CgroupLayout;
  private readonly egress: Egress;
  private readonly lazyPages: LazyPages | undefined;
  private tools: Promise<SandboxTools> | undefined;
  private usernsSetup: Promise<string> | undefined;

  /** `log` takes what a clean-up after a failure could not undo: the failure itself is thrown. */
  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.sandboxesDir = dataFiles(config.dataDir).sandboxes;
    // Throws, saying what is missing, on a host whose cgroups runc could not limit or freeze with.
    this.cgroups = detectCgroupLayout();
    this.egress = new Egress(config);
    const problem = config.userns && hostMappingProblem(config.userns);
    if (problem) throw new Error(`user namespaces for sandboxes: ${problem}`);
    this.lazyPages = lazyPagesFor(config);
  }

  /** A clean-up step after a failure: its own failure is logged (something may be left behind
   *  until recovery's sweep), never thrown over the failure being handled. */
  private async tidy(about: string | CheckpointRef, step: string, work: () => Promise<unknown>): Promise<void> {
    // A pause's checkpoint is named after its sandbox; the others (clone, snapshot, boot) are not.
    const fields = typeof about === 'string' ? { sandboxId: about } : about.kind === 'pause' ? { sandboxId: about.name } : { checkpoint: `${about.kind} ${about.name}` };
    const who = 'sandboxId' in fields ? `sandbox ${fields.sandboxId}` : `${fields.checkpoint} checkpoint`;
    await work().catch((err: unknown) => this.log.warn({ ...fields, err }, `${who}: ${step} failed`));
  }

  hostRoutes(): Set<string> {
    return routedNetworks();
  }

  async savedStateKey(spec: Pick<SandboxSpec, 'layers' | 'startCommand'>): Promise<string> {
    const { sandboxBundleDir: bundleDir, criuPath } = this.config;
    const toolsKey = (await this.sandboxTools()).key;
    return savedStateKey({ layers: spec.layers, initArgs: initArgs(spec.startCommand), toolsKey, bundleDir, criuPath, processSecurity: processSecurityFingerprint(this.config.userns), rootMount: overlayFeatures });
  }

  /** The host side of user-namespaced sandboxes, prepared on first use (a failure is retried);
   *  resolves to the /dev/fuse node they get. */
  private usernsHost(): Promise<string> {
    const mapping = this.config.userns!;
    this.usernsSetup ??= (async () => {
      await mkdir(this.sandboxesDir, { recursive: true });
      await checkPathToDataDir(this.config.dataDir, mapping);
      for (const dir of [this.config.dataDir, this.sandboxesDir]) await letNamespacedRootThrough(dir, mapping);
      return ensureFuseDevice(dataFiles(this.config.dataDir).fuseDevice, mapping);
    })().catch((err: unknown) => {
      this.usernsSetup = undefined;
      throw err;
    });
    return this.usernsSetup;
  }

  /** The folder mounted at /opt/sandcastle, prepared on first use (a failure is retried). */
  private sandboxTools(): Promise<SandboxTools> {
    this.tools ??= prepareSandboxTools({ nodePath: this.config.nodePath, cacheDir: this.config.sandboxToolsCache }).catch((err: unknown) => {
      this.tools = undefined;
      throw err;
    });
    return this.tools;
  }

  private bundleDir(id: string): string {
    return path.join(this.sandboxesDir, id);
  }

  /** The folder holding a sandbox's `upper` and `work`: its own disk (sandbox-disk.ts), or the
   *  bundle itself for a sandbox made without disk quotas (SANDCASTLE_DISK_QUOTA=0, or earlier). */
  private layerDir(id: string): string {
    const bundle = this.bundleDir(id);
    const { mount } = diskPaths(bundle);
    return existsSync(mount) ? mount : bundle;
  }

  /** Prepares the host at start: the kernel limits all sandboxes share raised, every sandbox
   *  together capped below the host's process ids, sandbox disks checked (throws saying what to
   *  install or change). Resolves to a line for the log saying what it found and set. */
  async checkHost(): Promise<string> {
    const limits = await raiseKernelLimits(kernelLimitsFor(this.config.userns !== undefined), { sandboxes: this.config.maxSandboxes, pidsLimit: this.config.pidsLimit });
    return [await this.checkDisks(), limits, this.capSandboxPids()].filter((line) => line !== undefined).join('; ');
  }

  /** Only the host's safety under many fork bombs depends on it: one it cannot set is logged. */
  private capSandboxPids(): string | undefined {
    try {
      return capSandboxPids(this.cgroups);
    } catch (err) {
      this.log.warn({ err }, 'the pids limit of every sandbox together could not be set; each sandbox keeps its own');
      return undefined;
    }
  }

  private async checkDisks(): Promise<string> {
    if (!this.config.diskQuota) return 'sandbox disks: no quota (SANDCASTLE_DISK_QUOTA=0): writable layers live in the data directory, unlimited';
    await checkDiskSupport(this.config.dataDir);
    return `sandbox disks: each sandbox's writable layer on its own file-backed ext4 disk (loop-mounted, sparse) of its template's size, ${this.config.defaultDiskSizeMB} MiB by default; writing past it is ENOSPC inside`;
  }

  private runc(args: string[], opts: { criu?: boolean } = {}): Promise<string> {
    const criu = opts.criu ? ['--criu', this.config.criuPath] : [];
    return runCommand(this.config.runcPath, ['--root', this.config.runcRoot, ...criu, ...args], opts.criu ? this.criuRun() : {});
  }

  /** How runc runs CRIU: in its environment, and killed with CRIU past the deadline. */
  private criuRun(): { env: Record<string, string>; timeoutMs: number } {
    return { env: criuEnv, timeoutMs: this.config.criuTimeoutSeconds * 1000 };
  }

  /** `runc run|restore --detach`: the container inherits runc's stdio, so it gets /dev/null
   *  (CRIU needs that too) and runc's own messages go to a log file a failure is explained from. */
  private async runDetached(bundle: string, args: string[]): Promise<void> {
    const log = path.join(bundle, 'runc.log');
    await rm(log, { force: true });
    try {
      await runCommand(
        this.config.runcPath,
        ['--root', this.config.runcRoot, '--criu', this.config.criuPath, '--log', log, ...args],
        { quiet: true, ...this.criuRun() },
      );
    } catch (err) {
      const detail = await readFile(log, 'utf8').then((s) => s.trim().split('\n').slice(-3).join(' | '), () => '');
      throw new Error(`${(err as Error).message}${detail ? `: ${detail}` : ''}`);
    }
  }

  /** Folders, config, overlay mount and network of a sandbox; the writable layer starts empty or
   *  as a copy of `upperFrom`. */
  private async prepare(spec: SandboxSpec, upperFrom?: string): Promise<string> {
    const bundle = this.bundleDir(spec.id);
    const rootfs = path.join(bundle, 'rootfs');
    const mapping = this.config.userns;
    const fuseDevice = mapping && (await this.usernsHost());
    // A new sandbox gets its own disk; one made before (a resume) keeps where its layer is.
    const withDisk = existsSync(diskPaths(bundle).mount) || (this.config.diskQuota && !existsSync(path.join(bundle, 'upper')));
    const layerDir = withDisk ? diskPaths(bundle).mount : bundle;
    const upper = path.join(layerDir, 'upper');
    const criuConfig = path.join(bundle, 'criu.conf');
    // The writable layer (disk, folders, copy, overlay) and the network are made side by side.
    // Every step ends before a failure is reported: the clean-up that follows a failure must not
    // race a step still making something (a network namespace made after it would be leaked).
    const steps = await Promise.allSettled([
      (async () => {
        if (withDisk) await ensureDisk(bundle, spec.diskSizeMB ?? this.config.defaultDiskSizeMB);
        const [madeUpper] = await Promise.all([upper, path.join(layerDir, 'work'), rootfs].map((d) => mkdir(d, { recursive: true })));
        if (upperFrom) await runCommand('cp', ['-a', '--reflink=auto', `${upperFrom}/.`, upper]);
        // The writable layer's own folder is the sandbox's "/": its root must own it.
        if (mapping && madeUpper) await chown(upper, mapping.base, mapping.base);
        if (await isMountPoint(rootfs)) return;
        await mountOverlay(rootfs, `lowerdir=${spec.layers.join(':')},upperdir=${upper},workdir=${layerDir}/work,${overlayFeatures}`);
      })(),
      (async () => {
        const ociSpec = buildOciSpec({
          spec,
          netnsPath: netnsPath(spec.id),
          toolsDir: (await this.sandboxTools()).dir,
          bundleDir: this.config.sandboxBundleDir,
          criuConfig,
          userns: mapping && fuseDevice ? { mapping, fuseDevice } : undefined,
        });
        await mkdir(bundle, { recursive: true });
        await Promise.all([writeFile(path.join(bundle, 'config.json'), JSON.stringify(ociSpec)), writeFile(criuConfig, criuOptions(upperFrom ? 'other' : 'same'))]);
      })(),
      existsSync(netnsPath(spec.id)) ? Promise.resolve() : createNetns(spec.id, spec.network, spec.egress, this.egress, this.config).then(async () => {
        if (mapping) await openNetworkToNamespacedRoot(netnsPath(spec.id));
      }),
    ]);
    const failed = steps.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return bundle;
  }

  async create(spec: SandboxSpec): Promise<void> {
    try {
      const bundle = await this.prepare(spec);
      await this.runDetached(bundle, ['run', '--detach', '--bundle', bundle, spec.id]);
    } catch (err) {
      await this.tidy(spec.id, 'removing what the failed start made', () => this.destroy(spec.id));
      throw err;
    }
  }

  /** `runc checkpoint` of `id` into checkpoint folder `dir`, written as `durability` says. */
  private dump(dir: string, id: string, durability: CheckpointDurability, options: string[] = []): Promise<void> {
    const args = ['checkpoint', ...options, '--image-path', checkpointImage(dir), '--work-path', checkpointWork(dir), id];
    return durability.writing(dir, () => this.criuStep(path.join(checkpointWork(dir), 'dump.log'), args));
  }

  /** A runc command that runs CRIU; a failure names CRIU's own errors from its log. */
  private async criuStep(log: string, args: string[]): Promise<void> {
    try {
      await this.runc(args, { criu: true });
    } catch (err) {
      throw new Error(`${(err as Error).message}${await criuErrors(log)}`);
    }
  }

  /** The folder of a checkpoint: each kind has its own in the data directory (config.ts). */
  private checkpointDir(ref: CheckpointRef): string {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(ref.name)) throw new Error(`checkpoint name '${ref.name}' is not one path segment`);
    const layout = dataFiles(this.config.dataDir);
    const folder = { pause: layout.checkpoints, clone: layout.clones, snapshot: layout.snapshots, boot: layout.templateStates }[ref.kind];
    return path.join(folder, ref.name);
  }

  async checkpoint(id: string, ref: CheckpointRef, mode: CheckpointMode): Promise<void> {
    const dir = this.checkpointDir(ref);
    // Memory a lazy restore has not copied in yet would be saved as empty.
    await this.lazyPages?.settled(id);
    try {
      const durability = durabilityOf(ref);
      await this.retryingPassingFailures(id, async () => {
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
        await this.dumpFor(mode, dir, id, durability);
      });
      // A snapshot's layer is the copy in the checkpoint; a pause keeps the sandbox's own.
      await durability.markWhole(dir, mode === 'snapshot' ? undefined : this.writableLayer(id));
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Runs a checkpoint's dump again, after a pause with the processes running, when CRIU failed on
   * a state that lasts a moment: a unix connection not accepted yet whose client has already
   * written (CRIU cannot save that data) or already closed its end. Every command envd starts
   * makes such connections for a moment (its helper connects the process's stdio to envd and
   * greets), and so may a user's.
   */
  private async retryingPassingFailures(id: string, dump: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await dump();
      } catch (err) {
        const delay = passingDumpRetryDelaysMs[attempt];
        if (delay === undefined || !passingDumpFailure.test((err as Error).message)) throw err;
        this.log.warn({ sandboxId: id, err, retryInMs: delay }, `sandbox ${id}: checkpoint failed on a passing state; trying again`);
        await sleep(delay);
      }
    }
  }

  /** One attempt at a checkpoint's dump, in `mode`; the processes run on after a failure. */
  private async dumpFor(mode: CheckpointMode, dir: string, id: string, durability: CheckpointDurability): Promise<void> {
    if (mode === 'stop') {
      // The overlay stays mounted while paused: unmounting would sync the filesystem that has
      // just received the image (about 0.5 s per GiB here), and resume would mount it again.
      await this.dump(dir, id, durability).catch(async (err: unknown) => {
        // A CRIU that failed lets the processes go on; one killed at its deadline may have left
        // their cgroup frozen.
        await this.tidy(id, 'thawing after the failed checkpoint', () => this.runc(['resume', id]));
        throw err;
      });
    } else if (mode === 'freeze') {
      // Frozen first: CRIU then leaves the cgroup as it found it, so the processes stay frozen
      // in memory once their image is whole.
      await freezeCgroup(this.cgroups, id);
      await this.dump(dir, id, durability, ['--leave-running']).catch(async (err: unknown) => {
        await this.tidy(id, 'thawing after the failed checkpoint', () => this.runc(['resume', id]));
        throw err;
      });
    } else {
      // Frozen while both its memory and its writable layer are saved, so the two agree.
      await freezeCgroup(this.cgroups, id);
      try {
        await this.dump(dir, id, durability, ['--leave-running']);
        await runCommand('cp', ['-a', '--reflink=auto', this.writableLayer(id), checkpointUpper(dir)]);
      } finally {
        await this.runc(['resume', id]);
      }
    }
  }

  checkpointIsWhole(ref: CheckpointRef): boolean {
    return isCheckpointWhole(this.checkpointDir(ref));
  }

  async deleteCheckpoint(ref: CheckpointRef): Promise<void> {
    await this.imageRead(ref);
    await rm(this.checkpointDir(ref), { recursive: true, force: true });
  }

  async discardCheckpoint(ref: CheckpointRef): Promise<void> {
    const dir = this.checkpointDir(ref);
    const aside = `${dir}.discarded-${randomBytes(4).toString('hex')}`;
    await rename(dir, aside).catch(() => undefined);
    // Left to recovery's sweep when the server stops first.
    setTimeout(() => {
      void this.tidy(ref, `removing the discarded checkpoint ${aside} (recovery's sweep retries at the next start)`, async () => {
        await this.imageRead(ref);
        await rm(aside, { recursive: true, force: true });
      });
    }, discardDelayMs).unref();
  }

  /** Resolves once no lazy restore reads the checkpoint's image any more (restore-lazy.ts). */
  private async imageRead(ref: CheckpointRef): Promise<void> {
    if (ref.kind === 'pause') await this.lazyPages?.settled(ref.name).catch(() => undefined);
  }

  async listCheckpoints(kind: CheckpointRef['kind']): Promise<string[]> {
    return readdir(path.dirname(this.checkpointDir({ kind, name: 'x' }))).catch(() => [] as string[]);
  }

  async restore(spec: SandboxSpec, source: RestoreSource): Promise<void> {
    const isClone = source.withSavedLayer;
    const sourceDir = this.checkpointDir(source.checkpoint);
    const bundle = this.bundleDir(spec.id);
    const privateImage = path.join(bundle, 'restore-image');
    const workDir = path.join(bundle, 'restore-work');
    // A resume in place may leave its memory to be read on demand; a clone's is read whole.
    const lazy = isClone ? undefined : this.lazyPages;
    try {
      // CRIU's log of the last restore is kept while the sandbox runs (removing it delayed the
      // answer by a few ms); a stale one must not explain this restore's failure.
      await Promise.all([
        this.prepare(spec, isClone ? checkpointUpper(sourceDir) : undefined),
        rm(workDir, { recursive: true, force: true }).then(() => lazy?.start(spec.id, checkpointImage(sourceDir), workDir)),
      ]);
      if (source.checkpointAddress && source.checkpointAddress !== spec.network.sandboxAddress) {
        await runCommand('ip', ['-n', netnsName(spec.id), 'addr', 'add', `${source.checkpointAddress}/32`, 'dev', 'eth0']);
      }
      let imageDir = checkpointImage(sourceDir);
      if (isClone) {
        await imageWithHostname(imageDir, privateImage, spec.id);
        imageDir = privateImage;
      }
      if (this.config.userns) await letNamespacedRootThrough(imageDir, this.config.userns);
      await this.runDetached(bundle, ['restore', '--detach', ...(lazy ? ['--lazy-pages'] : []), '--image-path', imageDir, '--work-path', workDir, '--bundle', bundle, spec.id]).catch(
        async (err: Error) => {
          throw new Error(`${err.message}${await criuErrors(path.join(workDir, 'restore.log'))}`);
        },
      );
      // A clone's own checkpoints and resumes from now on are in place (prepare wrote those
      // options already for a resume in place), and its view of the shared image goes.
      if (isClone) {
        await Promise.all([rm(privateImage, { recursive: true, force: true }), writeFile(path.join(bundle, 'criu.conf'), criuOptions('same'))]);
      }
    } catch (err) {
      await lazy?.stop(spec.id);
      if (isClone) {
        await this.tidy(spec.id, 'removing the failed clone', () => this.destroy(spec.id));
      } else {
        // The sandbox stays paused: keep its writable layer and network, drop the half restore.
        await this.tidy(spec.id, 'unmounting the failed restore\'s root', () => this.unmountCriuRoot(spec.id));
        await this.tidy(spec.id, 'deleting the failed restore\'s container', () => this.deleteContainer(spec.id));
        const rootfs = path.join(bundle, 'rootfs');
        if (await isMountPoint(rootfs)) await this.tidy(spec.id, 'unmounting the failed restore\'s rootfs', () => unmount(rootfs));
        await rm(privateImage, { recursive: true, force: true });
      }
      throw err;
    }
  }

  async copyStopped(id: string, to: CheckpointRef): Promise<void> {
    const pausedDir = this.checkpointDir({ kind: 'pause', name: id });
    const dir = this.checkpointDir(to);
    await mkdir(dir, { recursive: true });
    try {
      await Promise.all([
        runCommand('cp', ['-a', '--reflink=auto', checkpointImage(pausedDir), checkpointImage(dir)]),
        runCommand('cp', ['-a', '--reflink=auto', this.writableLayer(id), checkpointUpper(dir)]),
      ]);
      await durabilityOf(to).markWhole(dir);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  async destroy(id: string): Promise<void> {
    await this.lazyPages?.stop(id);
    const bundle = this.bundleDir(id);
    await this.unmountCriuRoot(id);
    await this.deleteContainer(id);
    const rootfs = path.join(bundle, 'rootfs');
    if (await isMountPoint(rootfs)) await unmount(rootfs);
    await removeDisk(bundle);
    await deleteNetns(id, this.egress);
    await rm(bundle, { recursive: true, force: true });
  }

  /** Deletes runc's container `id`, if runc has state for it, as `runc delete --force` would,
   *  and any cgroup of the sandbox left without a container. */
  private async deleteContainer(id: string): Promise<void> {
    const stateDir = path.join(this.config.runcRoot, id);
    if (existsSync(stateDir)) {
      // A state folder without its state file (runc stopped before writing it) is runc's to judge.
      if (!existsSync(path.join(stateDir, 'state.json'))) await this.runc(['delete', '--force', id]);
      else await deleteContainer(stateDir);
    }
    // A runc that failed or was killed before it wrote its state (a restore at the CRIU
    // deadline, one CRIU refused) leaves the cgroups it made, which no state names.
    await removeCgroups(sandboxCgroupDirsEverywhere(this.cgroups, id), `sandbox ${id}`);
  }

  /** `runc restore` bind-mounts the root filesystem at `<state dir>/criu-root` for CRIU and
   *  unmounts it when done; a runc killed in between (at the CRIU deadline, or with a crashed
   *  server) leaves it, and runc's state folder could then not be removed. */
  private async unmountCriuRoot(id: string): Promise<void> {
    const criuRoot = path.join(this.config.runcRoot, id, 'criu-root');
    if (await isMountPoint(criuRoot)) await runCommand('umount', ['-R', criuRoot]);
  }

  async commit(id: string, to: string): Promise<void> {
    const bundle = this.bundleDir(id);
    await this.deleteContainer(id);
    const rootfs = path.join(bundle, 'rootfs');
    if (await isMountPoint(rootfs)) await unmount(rootfs);
    const upper = this.writableLayer(id);
    const { mounts } = JSON.parse(await readFile(path.join(bundle, 'config.json'), 'utf8')) as { mounts: { destination: string }[] };
    await dropMountPoints(upper, mounts.map((m) => m.destination));
    // envd's log is the sandbox's own, not part of a template made from it.
    await rm(path.join(upper, envdLogName), { force: true }).catch(() => undefined);
    await rm(path.join(upper, `${envdLogName}.1`), { force: true }).catch(() => undefined);
    await moveFolder(upper, to);
    await this.destroy(id);
  }

  private async runcStates(): Promise<RuncState[]> {
    const out = await this.runc(['list', '--format', 'json']);
    return (JSON.parse(out || 'null') ?? []) as RuncState[];
  }

  /** One container's status, undefined when it does not exist. Not `runc list`, which fails when
   *  any other container goes away while it reads them. */
  private async statusOf(id: string): Promise<string | undefined> {
    if (!existsSync(path.join(this.config.runcRoot, id))) return undefined;
    try {
      return (JSON.parse(await this.runc(['state', id])) as RuncState).status;
    } catch (err) {
      if (!existsSync(path.join(this.config.runcRoot, id))) return undefined;
      throw err;
    }
  }

  async listRunning(): Promise<string[]> {
    return (await this.runcStates()).filter((s) => s.status === 'running').map((s) => s.id);
  }

  async settle(): Promise<void> {
    // runc (and the CRIU it runs) name the state folder; copies and mounts name the data folder.
    const layout = dataFiles(this.config.dataDir);
    await waitForHostProcesses([this.config.runcRoot, layout.sandboxes, layout.checkpoints, layout.clones, layout.snapshots, layout.templateStates], settleTimeoutMs);
  }

  async inspect(): Promise<Map<string, ContainerState>> {
    const seen = new Map<string, ContainerState>();
    for (const s of await this.runcStates()) {
      seen.set(s.id, s.status === 'running' ? 'running' : s.status === 'paused' ? 'frozen' : 'stopped');
    }
    return seen;
  }

  async adopt(id: string): Promise<void> {
    if ((await this.statusOf(id)) === 'paused') await this.runc(['resume', id]);
    const bundle = this.bundleDir(id);
    await Promise.all([
      rm(path.join(bundle, 'restore-image'), { recursive: true, force: true }),
      rm(path.join(bundle, 'restore-work'), { recursive: true, force: true }),
      writeFile(path.join(bundle, 'criu.conf'), criuOptions('same')),
    ]);
  }

  async clearStopped(id: string): Promise<void> {
    await this.lazyPages?.stop(id);
    await this.deleteContainer(id);
    const rootfs = path.join(this.bundleDir(id), 'rootfs');
    if (await isMountPoint(rootfs)) await unmount(rootfs);
    await rm(path.join(this.bundleDir(id), 'restore-work'), { recursive: true, force: true });
  }

  async thaw(id: string): Promise<void> {
    await thawCgroup(this.cgroups, id);
  }

  async endFrozen(id: string, ref: CheckpointRef): Promise<void> {
    // Killed, the processes would close their TCP connections (FIN, TIME_WAIT in the sandbox's
    // network namespace), and a restore could not connect them back ("Cannot assign requested
    // address"). A second dump ends them with their sockets in repair mode, as a `stop` pause does,
    // and saves what the kernel did for them meanwhile; it is written beside the first and takes
    // its place once whole.
    const status = await this.statusOf(id);
    if (status !== 'paused') throw new Error(`sandbox ${id} is not frozen (its container is ${status ?? 'absent'}): there is nothing for endFrozen to end`);
    const dir = this.checkpointDir(ref);
    const next = `${dir}.next`;
    await rm(next, { recursive: true, force: true });
    await mkdir(next, { recursive: true });
    try {
      await this.dump(next, id, durableCheckpoint);
      await durableCheckpoint.markWhole(next);
    } catch (err) {
      await rm(next, { recursive: true, force: true });
      throw err;
    }
    await replaceCheckpoint(dir, next);
  }

  async finishStopCheckpoint(ref: CheckpointRef): Promise<boolean> {
    const dir = this.checkpointDir(ref);
    // The second dump of a warm pause's end, finished (by CRIU's word) but not yet in place.
    const next = `${dir}.next`;
    if (await finishedDump(next)) {
      await durableCheckpoint.markWhole(next);
      await replaceCheckpoint(dir, next);
      return true;
    }
    if (isCheckpointWhole(dir)) return true;
    // CRIU's own word that the dump is whole; runc then removed the container.
    if (!(await finishedDump(dir))) return false;
    await durableCheckpoint.markWhole(dir);
    return true;
  }

  async listPresent(): Promise<string[]> {
    // The bundle folder is made before any other resource and removed after all of them, so
    // together with runc's own state and the sandbox chains of the server's nftables table it
    // names everything this server may have left behind.
    const [containers, bundles, rules] = await Promise.all([
      readdir(this.config.runcRoot).catch(() => [] as string[]),
      readdir(this.sandboxesDir).catch(() => [] as string[]),
      this.egress.sandboxIds(),
    ]);
    return [...new Set([...containers, ...bundles, ...rules])];
  }

  async stats(id: string): Promise<SandboxStats | undefined> {
    return readCgroupStats(id, this.cgroups);
  }

  async hostResources(): Promise<HostResources> {
    // The data directory holds the database, so it exists; sandbox layers live on its disk.
    const fs = await statfs(this.config.dataDir);
    // os.freemem() is the kernel's MemAvailable: free memory plus what it can reclaim.
    return { memoryAvailableBytes: os.freemem(), diskAvailableBytes: fs.bavail * fs.bsize };
  }

  writableLayer(id: string): string {
    return path.join(this.layerDir(id), 'upper');
  }

  async readWrittenFile(id: string, name: string, maxBytes: number): Promise<string> {
    if (name !== path.basename(name)) throw new Error(`'${name}' is not a file name`);
    return readSandboxFile(path.join(this.writableLayer(id), name), maxBytes);
  }

  diskUsedBytes(id: string): Promise<number | undefined> {
    return diskUsedBytes(this.bundleDir(id));
  }

  updateEgress(id: string, lease: NetworkLease, egress: EgressPolicy): Promise<void> {
    return setEgress(id, lease, egress, this.egress);
  }
}
