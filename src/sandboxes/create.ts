// Create and its fast paths: a sandbox from the warm pool (only envd's init left to do), from a
// snapshot, from the template's saved boot state, or booted fresh; capacity checked first.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { errors } from '../errors.js';
import { mapLimit } from '../map-limit.js';
import { OperationQueue } from '../operation-queue.js';
import { envdPort } from '../protocol.js';
import type { CheckpointRef, RestoreSource } from '../runtime/runtime.js';
import type { BootState } from '../store/boot-state-store.js';
import type { SandboxRecord } from '../store/sandbox-store.js';
import type { TemplateRecord } from '../store/template-store.js';
import type { VolumeMountRecord } from '../store/volume-store.js';
import { waitForHealth } from './envd-client.js';
import { warmUpEnvd } from './envd-warm-up.js';
import { type Lifecycle, type SavedStart, serviceReadyTimeoutMs } from './lifecycle.js';
import { type CreateSandboxInput, fieldsFromInput, type SandboxFields } from './sandbox-records.js';
import { bootCheckpoint, snapshotCheckpoint } from './saved-states.js';
import { bringUpService, type TemplateService } from './template-service.js';
import { WarmPool } from './warm-pool.js';

const MiB = 1024 * 1024;

/**
 * How long a sandbox saved as a boot state at the server's start runs first. V8 collects a quiet
 * Node process's garbage about 8 s after it starts (its memory reducer: two full collections half
 * a second apart, the heap shrinking by a quarter). Saved before that, every sandbox restored from
 * the state found the collection due and paid it, 30–40 ms of CPU a create here, and restored the
 * larger heap (a 13.6 instead of a 10.9 MB image for envd). The wait is paid when a state is saved
 * anew (first start, upgrade, changed template); creates meanwhile boot. A template build's state
 * is saved at once (the build's answer waits for it) and again, settled, in the background.
 */
const bootStateSettleMs = 10_000;

/** Logged once every template's boot state is saved and its warm pool filled after a start (what
 *  benchmarks and tests wait for before measuring or counting containers). */
export const fastCreatePreparedMessage = 'fast create prepared: boot states saved, warm pools filled';
/** Logged instead when the server stopped first; states not saved are saved at the next start. */
export const fastCreateStoppedMessage = 'fast create preparation stopped by the server stopping';

export class Creator {
  readonly pool: WarmPool;
  /** Sandboxes creates and clones have been admitted for and not yet finished starting. */
  private admitted = 0;
  /** Pooled sandboxes whose envd is being warmed up (envd-warm-up.ts), by id. */
  private readonly warmUps = new Map<string, Promise<void>>();
  /** What each pooled sandbox was made from (poolOrigin), by id. */
  private readonly pooledOrigins = new Map<string, string>();
  /** Saves of boot states, one at a time per template. */
  private readonly bootStateSaves = new OperationQueue();
  /** Settled saves under way, by template, with what they save (stateInputs): a build that
   *  changes that aborts it. */
  private readonly settling = new Map<string, { inputs: string; abort: AbortController; done: Promise<void> }>();
  /** Boot states being saved in the background; stopPreparing() aborts and awaits them. */
  private readonly background = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  /** Templates whose boot state a restore failed from, waiting to be saved anew. */
  private readonly resaving = new Set<string>();

  constructor(private readonly lc: Lifecycle) {
    this.pool = new WarmPool(lc.config.warmPoolSize, (template) => this.startPooled(template), lc.log);
  }

  checkTimeout(seconds: number | undefined): number {
    const { defaultTimeoutSeconds, maxTimeoutSeconds } = this.lc.config;
    const value = seconds ?? defaultTimeoutSeconds;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > maxTimeoutSeconds) {
      throw errors.invalidTimeout(seconds, maxTimeoutSeconds);
    }
    return Math.ceil(value);
  }

  /**
   * Runs `work`, which makes `adding` sandboxes, unless that would pass the configured capacity:
   * then refuses (429) naming the limit it met. Concurrent calls see each other's sandboxes while
   * they start.
   */
  async withCapacity<T>(adding: number, work: () => Promise<T>): Promise<T> {
    const { maxSandboxes } = this.lc.config;
    const owned = this.lc.store.countOwned() + this.admitted;
    if (owned + adding > maxSandboxes) {
      throw errors.overCapacity(`${owned} sandboxes exist and at most ${maxSandboxes} may (SANDCASTLE_MAX_SANDBOXES); kill or wait for some to end`);
    }
    this.admitted += adding;
    try {
      await this.checkHost();
      return await work();
    } finally {
      this.admitted -= adding;
    }
  }

  private async checkHost(): Promise<void> {
    const { minFreeMemoryMB, minFreeDiskMB } = this.lc.config;
    // Warm-paused sandboxes hold memory a start may need: the oldest give it back first.
    await this.lc.warm.relieve(minFreeMemoryMB);
    const host = await this.lc.runtime.hostResources();
    if (host.memoryAvailableBytes < minFreeMemoryMB * MiB) {
      throw errors.overCapacity(`the host has ${Math.floor(host.memoryAvailableBytes / MiB)} MiB of memory available, less than the ${minFreeMemoryMB} MiB kept free (SANDCASTLE_MIN_FREE_MEMORY_MB)`);
    }
    if (host.diskAvailableBytes < minFreeDiskMB * MiB) {
      throw errors.overCapacity(`the data directory's disk has ${Math.floor(host.diskAvailableBytes / MiB)} MiB free, less than the ${minFreeDiskMB} MiB kept free (SANDCASTLE_MIN_FREE_DISK_MB)`);
    }
  }

  async create(input: CreateSandboxInput): Promise<SandboxRecord> {
    const timeoutSeconds = this.checkTimeout(input.timeoutSeconds);
    const template = this.lc.resolveTemplate(input.templateId);
    // Checked before anything is reserved: an unknown volume leaves no sandbox behind.
    const volumeMounts = () => this.lc.records.resolveVolumes(input.volumeMounts);
    if (template) {
      const mounts = volumeMounts();
      return this.withCapacity(1, () => this.fromTemplate(input, timeoutSeconds, template, mounts));
    }
    const snapshot = this.lc.snapshots.get(input.templateId);
    if (!snapshot) throw errors.templateNotFound(input.templateId);
    // A restore binds the volumes its image has, which are the snapshot source's: those, no others.
    const mounts = this.lc.records.snapshotVolumesOf(snapshot.id);
    if (input.volumeMounts?.length && !sameMounts(volumeMounts(), mounts)) {
      throw errors.snapshotVolumesFixed(input.templateId, mounts.map((m) => `${m.name} at ${m.path}`).join(', ') || 'none');
    }
    const fields = { ...fieldsFromInput({ ...snapshot, alias: null }, input, timeoutSeconds), volumeMounts: mounts };
    const saved = { source: savedSource(snapshotCheckpoint(snapshot.id), snapshot.address), token: snapshot.envdToken };
    return this.withCapacity(1, () => this.startReserved(fields, saved));
  }

  /** A sandbox of a template: from the warm pool, its saved boot state, or booted. */
  private async fromTemplate(input: CreateSandboxInput, timeoutSeconds: number, template: TemplateRecord, volumeMounts: VolumeMountRecord[] = []): Promise<SandboxRecord> {
    const fields = { ...fieldsFromInput(template, input, timeoutSeconds), volumeMounts };
    // The pool's sandboxes and the saved boot state have no volume mounted: boot.
    if (volumeMounts.length) return this.startReserved(fields, undefined, template);
    // An older build named by a tag has no pool or saved state: those are of the current build.
    if (template.buildId !== (this.lc.templates.find(template.id)?.buildId ?? null)) return this.startReserved(fields, undefined, template);
    const fromPool = await this.takeFromPool(template, fields);
    if (fromPool) return fromPool;
    const state = this.lc.bootStates.get(template.id);
    const saved = bootState(state);
    if (!state || !saved) return this.startReserved(fields, undefined, template);
    // Fast create: restore the template's saved boot state instead of booting.
    try {
      return await this.startReserved(fields, saved);
    } catch (err) {
      this.lc.log.error(
        { templateId: template.id, err },
        `template ${template.id}: restoring its saved state failed; its sandboxes boot instead, and it is saved anew in ${this.lc.config.bootStateRetrySeconds} s`,
      );
      await this.dropFailedBootState(state);
      return this.fromTemplate(input, timeoutSeconds, template, volumeMounts);
    }
  }

  /** Removes a boot state a restore failed from (unless one saved since replaced it) and saves
   *  the template's anew after SANDCASTLE_BOOT_STATE_RETRY seconds: the failure may have been the host's (memory, a
   *  kernel limit), and creates would otherwise boot until the server's next start. */
  private async dropFailedBootState(failed: BootState): Promise<void> {
    const { templateId } = failed;
    const now = this.lc.bootStates.get(templateId);
    if (now && bootCheckpoint(now).name === bootCheckpoint(failed).name) await this.forgetBootState(templateId);
    if (this.resaving.has(templateId)) return;
    this.resaving.add(templateId);
    void this.inBackground(async () => {
      try {
        await sleep(this.lc.config.bootStateRetrySeconds * 1000, undefined, { signal: this.stopping.signal });
        const current = this.lc.templates.find(templateId);
        if (!current || this.lc.bootStates.get(templateId)) return;
        await this.saveSettledBootState(current);
        this.lc.log.info({ templateId }, `template ${templateId}: boot state saved anew; creates restore it again`);
      } catch (err) {
        if (this.stopping.signal.aborted) return;
        this.lc.log.error({ templateId, err }, `template ${templateId}: saving its boot state anew failed; its sandboxes boot instead`);
      } finally {
        this.resaving.delete(templateId);
      }
    });
  }

  private startReserved(fields: SandboxFields, saved?: SavedStart, service: TemplateService | null = null): Promise<SandboxRecord> {
    const rec = this.lc.records.reserve(fields);
    return this.lc.operate('create', rec.id, { templateId: fields.origin.id }, () => this.lc.queue.run(rec.id, () => this.lc.start(rec, saved, service)));
  }

  /**
   * Saves, for each template that has none, a stale one or one not yet settled, a sandbox booted
   * with its service (if any) ready and envd warmed up, not yet initialised, which later creates
   * and the warm pool restore; then fills the warm pools. Runs in the background after start.
   * Restoring costs less than booting even without a service (envd's Node start and its first
   * command's compilation are in the saved state): 127 instead of 187 ms of CPU a create in a
   * burst of 30, and 138–151 instead of 164 ms for one create → first command with the pool off
   * (this 2-core machine). stopPreparing() ends it early.
   */
  prepareFastCreate(): Promise<void> {
    return this.inBackground(async () => {
      const stop = this.stopping.signal;
      // Two at a time: most of a save waits for its sandbox to settle, and boots compete for cores.
      await mapLimit(this.lc.templates.all(), 2, async (template) => {
        if (stop.aborted) return;
        try {
          await this.saveSettledBootState(template);
        } catch (err) {
          if (stop.aborted) return;
          this.lc.log.error({ templateId: template.id, err }, `template ${template.id}: cannot save its boot state, sandboxes boot instead`);
        }
        this.pool.fill(template);
      });
      if (stop.aborted) {
        this.lc.log.info(fastCreateStoppedMessage);
        return;
      }
      await this.pool.settled();
      this.lc.log.info(fastCreatePreparedMessage);
    });
  }

  /** Ends the saving of boot states in the background (a sandbox left to settle is removed and
   *  nothing saved); resolves once that work has stopped. */
  async stopPreparing(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.background);
  }

  /** Runs `work` unless the server is stopping, tracked for stopPreparing; never rejects. */
  private inBackground(work: () => Promise<void>): Promise<void> {
    if (this.stopping.signal.aborted) return Promise.resolve();
    const running = work()
      .catch((err: unknown) => this.lc.log.error({ err }, 'preparing fast creates failed'))
      .finally(() => this.background.delete(running));
    this.background.add(running);
    return running;
  }

  /**
   * Brings a newly built template's service (if any) up in a sandbox and saves that as its boot
   * state at once, unsettled: the build's answer waits on it (refreshPool saves it again settled).
   * Throws ServiceNotReady when the service never got ready; any other failure only costs speed
   * (its sandboxes boot instead) and is logged.
   */
  async prepareBuiltTemplate(template: TemplateRecord, readyTimeoutMs: number): Promise<void> {
    // A rebuild that changed nothing the state holds keeps it, settled or being settled.
    const settling = this.settling.get(template.id);
    if (settling?.inputs === stateInputs(template)) return;
    settling?.abort.abort();
    try {
      await this.saveBootState(template, { readyTimeoutMs, settled: false });
    } catch (err) {
      if (err instanceof ServiceNotReady) throw err;
      this.lc.log.error({ templateId: template.id, err }, `template ${template.id}: cannot save its boot state, sandboxes boot instead`);
    }
  }

  /** Replaces the template's pooled sandboxes (made from what it was) with new ones, or only
   *  removes them when it is gone. A build's unsettled boot state is saved again settled in the
   *  background, and the pooled sandboxes restored from the unsettled one replaced after. */
  async refreshPool(templateId: string): Promise<void> {
    await this.replaceStalePooled(templateId);
    const current = this.lc.templates.find(templateId);
    if (!current || this.lc.bootStates.get(templateId)?.settled !== false) return;
    void this.inBackground(async () => {
      try {
        await this.saveSettledBootState(current);
      } catch (err) {
        if (this.stopping.signal.aborted) return;
        this.lc.log.warn({ templateId, err }, `template ${templateId}: saving its boot state settled failed; its sandboxes restore the unsettled one`);
      }
      if (!this.stopping.signal.aborted) await this.replaceStalePooled(templateId);
    });
  }

  /** Removes the template's pooled sandboxes that differ from what a new one would be made of
   *  now (poolOrigin), and tops its pool up. */
  private async replaceStalePooled(templateId: string): Promise<void> {
    const current = this.lc.templates.find(templateId);
    const stale = await this.pool.drain(templateId, (rec) => current !== undefined && this.pooledOrigins.get(rec.id) === this.poolOrigin(current));
    for (const rec of stale) this.pooledOrigins.delete(rec.id);
    await Promise.all(stale.map((rec) => this.lc.kill(rec.id).catch((err) => this.lc.log.error({ sandboxId: rec.id, err }, 'removing a stale pooled sandbox failed'))));
    if (current) this.pool.fill(current);
  }

  /** A deleted template's saved boot state goes with it. */
  async forgetTemplate(templateId: string): Promise<void> {
    await this.refreshPool(templateId);
    await this.forgetBootState(templateId);
  }

  private async forgetBootState(templateId: string): Promise<void> {
    const state = this.lc.bootStates.get(templateId);
    if (!state) return;
    this.lc.bootStates.delete(templateId);
    await this.lc.runtime.deleteCheckpoint(bootCheckpoint(state));
  }

  /** What a pooled sandbox of the template is made of: the template but its build's name, and
   *  the boot state it restores. */
  private poolOrigin(t: TemplateRecord): string {
    const state = this.lc.bootStates.get(t.id);
    return JSON.stringify([t.alias, t.cpuCount, t.memoryMB, t.diskSizeMB, t.readyPort, stateInputs(t), state ? bootCheckpoint(state).name : null]);
  }

  /** The boot state of a template as the server's start or a finished build left it, saved
   *  settled (bootStateSettleMs) in the background; a second call for the same inputs shares the
   *  save under way. A build that changes what the state holds ends it at once
   *  (prepareBuiltTemplate): that build's answer must not wait for the settle. */
  private saveSettledBootState(template: TemplateRecord): Promise<void> {
    const inputs = stateInputs(template);
    const running = this.settling.get(template.id);
    if (running?.inputs === inputs) return running.done;
    running?.abort.abort();
    const abort = new AbortController();
    const stillWanted = () => {
      const now = this.lc.templates.find(template.id);
      return now !== undefined && stateInputs(now) === inputs;
    };
    const done = this.saveBootState(template, { settled: true, stop: AbortSignal.any([this.stopping.signal, abort.signal]), stillWanted })
      .catch((err: unknown) => {
        // A build that changed the template took over; its state is saved settled after it.
        if (abort.signal.aborted && !this.stopping.signal.aborted) return;
        throw err;
      })
      .finally(() => {
        if (this.settling.get(template.id)?.abort === abort) this.settling.delete(template.id);
      });
    this.settling.set(template.id, { inputs, abort, done });
    return done;
  }

  /**
   * Saves the template's boot state unless it has one taken with the same inputs (and settled,
   * when `settled` asks for that). One template's saves run one at a time. `settled`: saved only
   * once the sandbox has run bootStateSettleMs; `stop` cuts that short and saves nothing;
   * `stillWanted`, asked once the state is taken, may drop it.
   */
  private saveBootState(template: TemplateRecord, opts: { readyTimeoutMs?: number; settled: boolean; stop?: AbortSignal; stillWanted?: () => boolean }): Promise<void> {
    return this.bootStateSaves.run(template.id, async () => {
      const { runtime, records } = this.lc;
      const key = createHash('sha256')
        .update(await runtime.savedStateKey({ layers: template.layers, startCommand: template.startCmd ?? undefined }))
        .update(stateInputs(template))
        .digest('hex');
      const old = this.lc.bootStates.get(template.id);
      if (old?.key === key && (old.settled || !opts.settled) && runtime.checkpointIsWhole(bootCheckpoint(old))) return;
      opts.stop?.throwIfAborted();
      const rec = records.reserve(records.unownedFields(template));
      const state: BootState = { templateId: template.id, address: records.addressOf(rec), key, settled: opts.settled };
      const ref = bootCheckpoint(state);
      try {
        const started = Date.now();
        await runtime.create(records.spec(rec));
        await waitForHealth(state.address, envdPort, 15_000);
        try {
          await bringUpService(state.address, template, opts.readyTimeoutMs ?? serviceReadyTimeoutMs);
        } catch (err) {
          throw new ServiceNotReady((err as Error).message, { cause: err });
        }
        // Only speed depends on it (an image without a shell cannot run it).
        await warmUpEnvd(state.address, template.defaultUser ?? undefined).catch((err: unknown) => {
          this.lc.log.warn({ templateId: template.id, err }, `template ${template.id}: warming up envd for its boot state failed; its sandboxes' first command will be slower`);
        });
        if (opts.settled) await sleep(Math.max(0, started + bootStateSettleMs - Date.now()), undefined, { signal: opts.stop });
        await runtime.checkpoint(rec.id, ref, 'snapshot');
      } finally {
        await runtime.destroy(rec.id).catch((err) => this.lc.log.error({ sandboxId: rec.id, err }, 'removing the boot-state sandbox failed'));
        this.lc.store.delete(rec.id);
      }
      if (opts.stillWanted && !opts.stillWanted()) {
        await runtime.deleteCheckpoint(ref);
        return;
      }
      this.lc.bootStates.set(state);
      if (old && bootCheckpoint(old).name !== ref.name) await runtime.deleteCheckpoint(bootCheckpoint(old));
      this.lc.log.info({ templateId: template.id, settled: state.settled }, `template ${template.id}: boot state saved${state.settled ? '' : ' (unsettled)'}`);
    });
  }

  /** A started sandbox from the pool, given the create's token, environment and lifetime; none
   *  when the pool is empty or the create asks for network rules a pooled one was not made with. */
  private async takeFromPool(template: TemplateRecord, fields: SandboxFields): Promise<SandboxRecord | undefined> {
    const defaultNetwork = fields.allowInternetAccess && !fields.networkRules;
    const pooled = defaultNetwork ? this.pool.take(template) : undefined;
    if (!pooled) return undefined;
    this.pooledOrigins.delete(pooled.id);
    const lifecycle = this.lc.records.lifecycleFields(fields);
    const rec: SandboxRecord = { ...pooled, ...lifecycle, state: 'pooled' };
    return this.lc.operate('create', rec.id, { templateId: template.id, pooled: true }, async () => {
      try {
        // envd answered in the pool (and ran a command there): no health probe first.
        await this.warmUps.get(rec.id);
        await this.lc.handOver(rec);
      } catch (err) {
        this.lc.log.warn({ sandboxId: rec.id, err }, 'a pooled sandbox did not take its init; starting another');
        await this.lc.kill(rec.id);
        return undefined;
      }
      const now = this.lc.store.get(rec.id);
      if (!now || now.state !== 'pooled') throw errors.sandboxNotFound(rec.id);
      return this.lc.markRunning(rec);
    }, () => this.lc.store.adoptPooled(pooled.id, lifecycle));
  }

  /** A sandbox for the warm pool: started from the template's saved state when it has one, left
   *  uninitialised, and its envd warmed up (envd-warm-up.ts). The warm-up goes on while the pool
   *  starts its next sandbox; a create taking this one waits for it. */
  private async startPooled(template: TemplateRecord): Promise<SandboxRecord> {
    const current = this.lc.templates.find(template.id) ?? template;
    const rec = this.lc.records.reserve(this.lc.records.unownedFields(current));
    const saved = bootState(this.lc.bootStates.get(current.id));
    const origin = this.poolOrigin(current);
    const pooled = await this.lc.start(rec, saved, saved ? null : current, true);
    this.pooledOrigins.set(pooled.id, origin);
    const warmUp = warmUpEnvd(this.lc.records.addressOf(pooled), current.defaultUser ?? undefined)
      .catch((err: unknown) => {
        // Only speed depends on it (an image without a shell cannot run it): the sandbox stays.
        // A pooled sandbox removed meanwhile (its template changed) has nothing to report.
        if (this.lc.store.get(pooled.id)?.state !== 'pooled') return;
        this.lc.log.warn({ sandboxId: pooled.id, templateId: current.id, err }, "warming up a pooled sandbox's envd failed; its first command will be slower");
      })
      .finally(() => this.warmUps.delete(pooled.id));
    this.warmUps.set(pooled.id, warmUp);
    return pooled;
  }
}

/** What of a template its boot state holds (with its layers' contents, in the state's key): a
 *  user template's service, started through envd, and the root file system. */
function stateInputs(t: TemplateRecord): string {
  return JSON.stringify([t.serviceCmd, t.readyCmd, t.defaultUser, t.defaultWorkdir, t.envVars, t.layers, t.startCmd]);
}

/** A template's start command that did not get ready: the template cannot be used. */
export class ServiceNotReady extends Error {}

/** A saved state (a `snapshot` checkpoint, or a paused one copied) that new sandboxes start from. */
export function savedSource(checkpoint: CheckpointRef, address: string | null): RestoreSource {
  return { checkpoint, withSavedLayer: true, checkpointAddress: address ?? undefined };
}

const mountKey = (m: VolumeMountRecord) => `${m.volumeId}\0${m.path}`;

function sameMounts(a: VolumeMountRecord[], b: VolumeMountRecord[]): boolean {
  const keys = new Set(b.map(mountKey));
  return a.length === b.length && a.every((m) => keys.has(mountKey(m)));
}

/** A template's saved boot state, which a create or the pool restores instead of booting. */
function bootState(state: BootState | undefined): SavedStart | undefined {
  return state && { source: savedSource(bootCheckpoint(state), state.address), token: null };
}
