// Create and its fast paths: a sandbox from the warm pool (only envd's init left to do), from a
// snapshot, from the template's saved boot state, or booted fresh; capacity checked first.
import { errors } from '../errors.js';
import { mapLimit } from '../map-limit.js';
import type { SandboxRecord } from '../store/sandbox-store.js';
import type { TemplateRecord } from '../store/template-store.js';
import type { VolumeMountRecord } from '../store/volume-store.js';
import { BootStates, stateInputs } from './boot-states.js';
import { warmUpEnvd } from './envd-warm-up.js';
import type { Lifecycle, SavedStart } from './lifecycle.js';
import { type CreateSandboxInput, fieldsFromInput, type SandboxFields } from './sandbox-records.js';
import { savedSource, snapshotCheckpoint } from './saved-states.js';
import type { TemplateService } from './template-service.js';
import { WarmPool } from './warm-pool.js';

const MiB = 1024 * 1024;

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
  private readonly bootStates: BootStates;

  constructor(private readonly lc: Lifecycle) {
    this.bootStates = new BootStates(lc);
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
    const boot = this.bootStates.savedStart(template.id);
    if (!boot) return this.startReserved(fields, undefined, template);
    // Fast create: restore the template's saved boot state instead of booting.
    try {
      return await this.startReserved(fields, boot.saved);
    } catch (err) {
      this.lc.log.error(
        { templateId: template.id, err },
        `template ${template.id}: restoring its saved state failed; its sandboxes boot instead, and it is saved anew in ${this.lc.config.bootStateRetrySeconds} s`,
      );
      this.bootStates.dropFailed(boot.state);
      return this.fromTemplate(input, timeoutSeconds, template, volumeMounts);
    }
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
    return this.bootStates.inBackground(async () => {
      const stop = this.bootStates.stopped;
      // Two at a time: most of a save waits for its sandbox to settle, and boots compete for cores.
      await mapLimit(this.lc.templates.all(), 2, async (template) => {
        if (stop.aborted) return;
        try {
          await this.bootStates.saveSettled(template);
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
  stopPreparing(): Promise<void> {
    return this.bootStates.stop();
  }

  /** A newly built template's boot state, saved at once (BootStates.saveForBuild). */
  prepareBuiltTemplate(template: TemplateRecord, readyTimeoutMs: number): Promise<void> {
    return this.bootStates.saveForBuild(template, readyTimeoutMs);
  }

  /** Replaces the template's pooled sandboxes (made from what it was) with new ones, or only
   *  removes them when it is gone. A build's unsettled boot state is saved again settled in the
   *  background, and the pooled sandboxes restored from the unsettled one replaced after. */
  async refreshPool(templateId: string): Promise<void> {
    await this.replaceStalePooled(templateId);
    const current = this.lc.templates.find(templateId);
    if (!current || !this.bootStates.unsettled(templateId)) return;
    void this.bootStates.inBackground(async () => {
      try {
        await this.bootStates.saveSettled(current);
      } catch (err) {
        if (this.bootStates.stopped.aborted) return;
        this.lc.log.warn({ templateId, err }, `template ${templateId}: saving its boot state settled failed; its sandboxes restore the unsettled one`);
      }
      if (!this.bootStates.stopped.aborted) await this.replaceStalePooled(templateId);
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
    await this.bootStates.forget(templateId);
  }

  /** What a pooled sandbox of the template is made of: the template but its build's name, and
   *  the boot state it restores. */
  private poolOrigin(t: TemplateRecord): string {
    return JSON.stringify([t.alias, t.cpuCount, t.memoryMB, t.diskSizeMB, t.readyPort, stateInputs(t), this.bootStates.checkpointName(t.id)]);
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
    const saved = this.bootStates.savedStart(current.id)?.saved;
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

const mountKey = (m: VolumeMountRecord) => `${m.volumeId}\0${m.path}`;

function sameMounts(a: VolumeMountRecord[], b: VolumeMountRecord[]): boolean {
  const keys = new Set(b.map(mountKey));
  return a.length === b.length && a.every((m) => keys.has(mountKey(m)));
}
