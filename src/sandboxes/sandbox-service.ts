// The lifecycle of sandboxes: create, connect, set timeout, pause, resume, clone, snapshot, kill,
// list, and the timers (deadline → kill or pause, idle timeout, paused retention).
// Talks to the runtime and the store only; knows nothing of HTTP.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { errors } from '../errors.js';
import { OperationQueue } from '../operation-queue.js';
import type { NetworkRange } from '../runtime/network-lease.js';
import type { RestoreSource, Runtime } from '../runtime/runtime.js';
import type { SandboxRecord, SandboxState, SandboxStore } from '../store/sandbox-store.js';
import type { TemplateRecord, TemplateStore } from '../store/template-store.js';
import { DeadlineTimers } from './deadline-timers.js';
import { defaultSandboxEnv } from './default-env.js';
import { envdPort } from '../envd/port.js';
import { initEnvd, waitForHealth } from './envd-client.js';
import { newSandboxId } from './ids.js';
import { decodePageToken, decodeSnapshotToken, encodePageToken, encodeSnapshotToken } from './page-tokens.js';
import { type CreateSandboxInput, egressOf, fieldsFromInput, type NetworkRulesInput, rulesFromInput, type SandboxFields, SandboxRecords } from './sandbox-records.js';
import { WarmPool } from './warm-pool.js';

export interface ListInput {
  states: SandboxState[];
  metadata: Record<string, string>;
  limit: number;
  nextToken?: string;
}

export interface CloneInput {
  count: number;
  strict: boolean;
  timeoutSeconds?: number;
}

export interface SandboxRoute {
  id: string;
  address: string;
  state: SandboxState;
}

const envdStartTimeoutMs = 15_000;
/** A template's own service (the interpreter's kernel) may take this long to warm up. */
const serviceReadyTimeoutMs = 60_000;

export interface SandboxServiceEvents {
  /** A sandbox stops taking traffic (kill or pause): open connections to it should be cut. */
  stopping: [id: string];
  /** A sandbox was created and runs (the metrics sampler takes its first sample). */
  started: [id: string];
}

export class SandboxService extends EventEmitter<SandboxServiceEvents> {
  private readonly timers: DeadlineTimers;
  private readonly idleTimers: DeadlineTimers;
  private readonly ops = new OperationQueue();
  private readonly pool: WarmPool;
  private readonly records: SandboxRecords;
  /** Last traffic per sandbox with an idle timeout (unix ms); a restart counts as traffic. */
  private readonly lastActivity = new Map<string, number>();

  constructor(
    private readonly config: Config,
    private readonly store: SandboxStore,
    private readonly templates: TemplateStore,
    private readonly runtime: Runtime,
    network: NetworkRange,
  ) {
    super();
    this.records = new SandboxRecords(config, store, runtime, network);
    this.timers = new DeadlineTimers((id) => this.onDeadline(id));
    this.idleTimers = new DeadlineTimers((id) => this.onIdleCheck(id));
    this.pool = new WarmPool(config.warmPoolSize, (template) => this.startPooled(template));
  }

  checkTimeout(seconds: number | undefined): number {
    const value = seconds ?? this.config.defaultTimeoutSeconds;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > this.config.maxTimeoutSeconds) {
      throw errors.invalidTimeout(seconds, this.config.maxTimeoutSeconds);
    }
    return Math.ceil(value);
  }

  private checkpointDir(id: string): string {
    return path.join(this.config.dataDir, 'checkpoints', id);
  }

  private templateOf(rec: SandboxRecord): TemplateRecord {
    const template = this.templates.find(rec.templateId);
    if (!template) throw errors.templateNotFound(rec.templateId);
    return template;
  }

  /** Hands envd its token and environment; `currentToken` when it was initialised before (a
   *  restore from a saved state). */
  private async init(rec: SandboxRecord, currentToken?: string): Promise<void> {
    const address = this.records.addressOf(rec);
    await waitForHealth(address, envdPort, envdStartTimeoutMs);
    await initEnvd(
      address,
      { accessToken: rec.envdToken, envVars: { ...rec.envVars, ...defaultSandboxEnv(rec.id, rec.templateId) }, defaultUser: 'user' },
      currentToken,
    );
  }

  /** Starts a reserved sandbox, fresh or from a saved state; on failure nothing is left. */
  private async start(
    rec: SandboxRecord,
    template: TemplateRecord,
    saved?: { source: RestoreSource; token: string | null },
    forPool = false,
  ): Promise<SandboxRecord> {
    try {
      const spec = this.records.spec(rec, template);
      if (saved) await this.runtime.restore(spec, saved.source);
      else await this.runtime.create(spec);
      // A pooled sandbox gets its token and environment when a create takes it.
      if (forPool) await waitForHealth(this.records.addressOf(rec), envdPort, envdStartTimeoutMs);
      else await this.init(rec, saved?.token ?? undefined);
      // A saved state has the template's service warm already; a fresh boot waits for it.
      if (!saved && template.readyPort !== null) {
        await waitForHealth(this.records.addressOf(rec), template.readyPort, serviceReadyTimeoutMs);
      }
    } catch (err) {
      await this.runtime.destroy(rec.id).catch(() => undefined);
      this.store.delete(rec.id);
      throw errors.startFailed(rec.id, err);
    }
    // A kill that arrived while starting wins.
    if (!this.store.get(rec.id)) throw errors.sandboxNotFound(rec.id);
    if (forPool) {
      this.store.setState(rec.id, 'pooled');
      return { ...rec, state: 'pooled' };
    }
    return this.markRunning(rec);
  }

  /** A started sandbox, handed to its create: running, its timers armed, its sampling begun. */
  private markRunning(rec: SandboxRecord): SandboxRecord {
    this.store.setState(rec.id, 'running');
    const running: SandboxRecord = { ...rec, state: 'running' };
    this.armTimers(running);
    this.emit('started', rec.id);
    return running;
  }

  private armTimers(rec: SandboxRecord): void {
    if (rec.state === 'paused') {
      this.idleTimers.clear(rec.id);
      this.timers.set(rec.id, rec.startedAt + this.config.pausedRetentionSeconds * 1000);
      return;
    }
    this.timers.set(rec.id, rec.endAt);
    if (rec.idleTimeoutSeconds !== null) {
      this.lastActivity.set(rec.id, Date.now());
      this.idleTimers.set(rec.id, Date.now() + rec.idleTimeoutSeconds * 1000);
    }
  }

  async create(input: CreateSandboxInput): Promise<SandboxRecord> {
    const timeoutSeconds = this.checkTimeout(input.timeoutSeconds);
    const template = this.templates.find(input.templateId);
    if (!template) throw errors.templateNotFound(input.templateId);
    const fields = fieldsFromInput(template, input, timeoutSeconds);
    const fromPool = await this.takeFromPool(template, fields);
    if (fromPool) return fromPool;
    const rec = this.records.reserve(fields);
    if (template.snapshotDir) {
      const saved = { source: savedSource(template.snapshotDir, template.snapshotAddress), token: template.snapshotToken };
      return this.ops.run(rec.id, () => this.start(rec, template, saved));
    }
    const saved = bootState(template);
    if (saved) {
      // Fast create: restore the template's saved boot state instead of booting.
      try {
        return await this.ops.run(rec.id, () => this.start(rec, template, saved));
      } catch (err) {
        console.error(`template ${template.id}: restoring its saved state failed, booting instead from now on: ${String(err)}`);
        this.templates.setBootCheckpoint(template.id, null, null, null);
        return this.create(input);
      }
    }
    return this.ops.run(rec.id, () => this.start(rec, template));
  }

  /**
   * Saves, for each template with a service to warm up (the interpreter's kernel) that has none or
   * a stale one, a sandbox booted with envd and the service running, not yet initialised, which
   * later creates restore from; then fills the warm pools. Runs in the background after start.
   * A template without such a service boots instead: envd starts in about 40 ms, while a CRIU
   * restore takes about 150 ms (measured with `npm run bench`).
   */
  async prepareFastCreate(): Promise<void> {
    for (const template of this.templates.all()) {
      if (template.snapshotDir) continue;
      try {
        if (template.readyPort !== null) await this.saveBootState(template);
        else if (template.bootCheckpointDir) await this.forgetBootState(template);
      } catch (err) {
        console.error(`template ${template.id}: cannot save its boot state, sandboxes boot instead: ${String(err)}`);
      }
      this.pool.fill(template);
    }
    await this.pool.settled();
  }

  private async forgetBootState(template: TemplateRecord): Promise<void> {
    this.templates.setBootCheckpoint(template.id, null, null, null);
    await rm(template.bootCheckpointDir!, { recursive: true, force: true });
  }

  private async saveBootState(template: TemplateRecord): Promise<void> {
    const key = await this.runtime.savedStateKey({ layers: template.layers, startCommand: template.startCmd ?? undefined });
    if (template.bootCheckpointKey === key && template.bootCheckpointDir && this.runtime.checkpointIsWhole(template.bootCheckpointDir)) return;
    const rec = this.records.reserve(this.records.unownedFields(template));
    const address = this.records.addressOf(rec);
    const dir = path.join(this.config.dataDir, 'template-states', `${template.id}-${key.slice(0, 16)}`);
    try {
      await this.runtime.create(this.records.spec(rec, template));
      await waitForHealth(address, envdPort, envdStartTimeoutMs);
      if (template.readyPort !== null) await waitForHealth(address, template.readyPort, serviceReadyTimeoutMs);
      await this.runtime.checkpoint(rec.id, dir, 'snapshot');
    } finally {
      await this.runtime.destroy(rec.id).catch(() => undefined);
      this.store.delete(rec.id);
    }
    this.templates.setBootCheckpoint(template.id, dir, address, key);
    if (template.bootCheckpointDir && template.bootCheckpointDir !== dir) {
      await rm(template.bootCheckpointDir, { recursive: true, force: true });
    }
  }

  /** A started sandbox from the pool, given the create's token, environment and lifetime; none
   *  when the pool is empty or the create asks for network rules a pooled one was not made with. */
  private async takeFromPool(template: TemplateRecord, fields: SandboxFields): Promise<SandboxRecord | undefined> {
    const defaultNetwork = fields.allowInternetAccess && !fields.networkRules;
    const pooled = defaultNetwork ? this.pool.take(template) : undefined;
    if (!pooled) return undefined;
    const lifecycle = this.records.lifecycleFields(fields);
    this.store.adoptPooled(pooled.id, lifecycle);
    const rec: SandboxRecord = { ...pooled, ...lifecycle };
    try {
      await this.init(rec);
    } catch (err) {
      console.error(`sandbox ${rec.id}: a pooled sandbox did not take its init, starting another: ${String(err)}`);
      await this.kill(rec.id);
      return undefined;
    }
    if (!this.store.get(rec.id)) throw errors.sandboxNotFound(rec.id);
    return this.markRunning(rec);
  }

  /** A sandbox for the warm pool: started from the template's saved state when it has one, and
   *  left uninitialised. */
  private async startPooled(template: TemplateRecord): Promise<SandboxRecord> {
    const current = this.templates.find(template.id) ?? template;
    const rec = this.records.reserve(this.records.unownedFields(current));
    return this.start(rec, current, bootState(current), true);
  }

  get(id: string): SandboxRecord {
    const rec = this.store.get(id);
    if (!rec || rec.state === 'killing' || rec.state === 'starting' || rec.state === 'pooled') throw errors.sandboxNotFound(id);
    return rec;
  }

  /** Where proxied traffic for a sandbox goes; undefined when it is not there at all. */
  route(id: string): SandboxRoute | undefined {
    const rec = this.store.get(id);
    if (!rec || rec.networkIndex === null) return undefined;
    return { id, state: rec.state, address: this.records.addressOf(rec) };
  }

  /** The route for traffic into a sandbox (envd, interpreter, user ports), or undefined when it
   *  cannot take traffic. A paused sandbox with auto-resume is resumed first. Counts as activity
   *  for the idle timeout. */
  async routeForTraffic(id: string): Promise<SandboxRoute | undefined> {
    let rec = this.store.get(id);
    if (rec && (rec.state === 'paused' || rec.state === 'pausing' || rec.state === 'resuming') && rec.autoResume) {
      await this.connect(id, undefined);
      rec = this.store.get(id);
    }
    if (!rec || rec.state !== 'running' || rec.networkIndex === null) return undefined;
    if (rec.idleTimeoutSeconds !== null) this.lastActivity.set(id, Date.now());
    return { id, state: rec.state, address: this.records.addressOf(rec) };
  }

  setTimeout(id: string, seconds: number): SandboxRecord {
    const timeout = this.checkTimeout(seconds);
    const rec = this.get(id);
    const endAt = Date.now() + timeout * 1000;
    this.store.setEndAt(id, endAt);
    if (rec.state === 'running') this.timers.set(id, endAt);
    return { ...rec, endAt };
  }

  /**
   * Connect: a paused sandbox is resumed with the given timeout (300 s by default); a running one
   * has its deadline extended to at least now + timeout, never shortened.
   */
  async connect(id: string, seconds: number | undefined): Promise<SandboxRecord> {
    const timeout = this.checkTimeout(seconds);
    return this.ops.run(id, async () => {
      const rec = this.get(id);
      if (rec.state === 'paused') return this.resume(rec, timeout);
      const endAt = Math.max(rec.endAt, Date.now() + timeout * 1000);
      if (endAt !== rec.endAt) {
        this.store.setEndAt(id, endAt);
        this.timers.set(id, endAt);
      }
      return { ...rec, endAt };
    });
  }

  private async resume(rec: SandboxRecord, timeoutSeconds: number): Promise<SandboxRecord> {
    const dir = this.checkpointDir(rec.id);
    this.store.setState(rec.id, 'resuming');
    try {
      await this.runtime.restore(this.records.spec(rec, this.templateOf(rec)), { dir, withSavedLayer: false });
    } catch (err) {
      this.store.setState(rec.id, 'paused');
      throw errors.resumeFailed(rec.id, err);
    }
    const endAt = Date.now() + timeoutSeconds * 1000;
    this.store.setResumed(rec.id, endAt);
    await discard(dir);
    const resumed: SandboxRecord = { ...rec, state: 'running', pausedAt: null, endAt };
    this.armTimers(resumed);
    return resumed;
  }

  /** Replaces a sandbox's outbound rules (both lists; none clears them). Its network lives on
   *  while it is paused, so the rules can change then too. */
  async updateNetwork(id: string, update: NetworkRulesInput): Promise<void> {
    const rec = this.get(id);
    if (rec.networkIndex === null) throw errors.sandboxNotRunning(id, rec.state);
    const rules = rulesFromInput({ network: update });
    await this.runtime.updateEgress(id, this.records.lease(rec), egressOf(rec.allowInternetAccess, rules));
    this.store.setNetworkRules(id, rules);
  }

  /** Pauses a running sandbox: its processes are saved with their memory and stopped. False when
   *  it was already paused. */
  async pause(id: string): Promise<boolean> {
    return this.ops.run(id, async () => {
      const rec = this.get(id);
      if (rec.state === 'paused') return false;
      if (rec.state !== 'running') throw errors.sandboxNotRunning(id, rec.state);
      await this.pauseNow(rec);
      return true;
    });
  }

  private async pauseNow(rec: SandboxRecord): Promise<void> {
    const dir = this.checkpointDir(rec.id);
    this.timers.clear(rec.id);
    this.idleTimers.clear(rec.id);
    this.store.setState(rec.id, 'pausing');
    this.emit('stopping', rec.id);
    try {
      await this.runtime.checkpoint(rec.id, dir, 'stop');
    } catch (err) {
      this.store.setState(rec.id, 'running');
      this.armTimers(rec);
      throw errors.pauseFailed(rec.id, err);
    }
    const pausedAt = Date.now();
    this.store.setPaused(rec.id, pausedAt);
    this.armTimers({ ...rec, state: 'paused', pausedAt });
  }

  /** Saves a sandbox's memory and files into `dir`, leaving it as it was; the address it was
   *  saved at comes back for the restores. */
  private async saveState(rec: SandboxRecord, dir: string): Promise<string> {
    const address = this.records.addressOf(rec);
    if (rec.state === 'running') {
      await this.runtime.checkpoint(rec.id, dir, 'snapshot');
    } else {
      await this.runtime.copyStopped(rec.id, this.checkpointDir(rec.id), dir);
    }
    return address;
  }

  async clone(id: string, input: CloneInput): Promise<SandboxRecord[]> {
    if (!Number.isInteger(input.count) || input.count < 1 || input.count > this.config.maxCloneCount) {
      throw errors.invalidCloneCount(input.count, this.config.maxCloneCount);
    }
    if (input.timeoutSeconds !== undefined) this.checkTimeout(input.timeoutSeconds);
    const dir = path.join(this.config.dataDir, 'checkpoints', `clone-${randomBytes(6).toString('hex')}`);
    const { source, address } = await this.ops.run(id, async () => {
      const src = this.get(id);
      if (src.state !== 'running' && src.state !== 'paused') throw errors.sandboxNotRunning(id, src.state);
      return { source: src, address: await this.saveState(src, dir) };
    });
    try {
      // A running source passes on its timeout; a paused one the default.
      const timeoutSeconds = this.checkTimeout(input.timeoutSeconds ?? (source.state === 'running' ? source.timeoutSeconds : this.config.defaultTimeoutSeconds));
      const template = this.templateOf(source);
      const results = await Promise.allSettled(
        Array.from({ length: input.count }, () => {
          // Everything the source was created with, its size included; a timeout of its own.
          const rec = this.records.reserve({ ...source, template, timeoutSeconds });
          const saved = { source: savedSource(dir, address), token: source.envdToken };
          return this.ops.run(rec.id, () => this.start(rec, template, saved));
        }),
      );
      const made = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure && (input.strict || made.length === 0)) {
        await Promise.all(made.map((c) => this.kill(c.id)));
        throw errors.cloneFailed(id, made.length, input.count, failure.reason);
      }
      return made;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Saves a sandbox's state as a snapshot that new sandboxes can be created from. */
  async createSnapshot(id: string): Promise<TemplateRecord> {
    const snapshotId = `snap-${newSandboxId()}`;
    const dir = path.join(this.config.dataDir, 'snapshots', snapshotId);
    return this.ops.run(id, async () => {
      const src = this.get(id);
      if (src.state !== 'running' && src.state !== 'paused') throw errors.sandboxNotRunning(id, src.state);
      const template = this.templateOf(src);
      const address = await this.saveState(src, dir);
      const snapshot: TemplateRecord = {
        id: snapshotId,
        alias: null,
        layers: template.layers,
        cpuCount: src.cpuCount,
        memoryMB: src.memoryMB,
        diskSizeMB: src.diskSizeMB,
        startCmd: null,
        snapshotDir: dir,
        snapshotAddress: address,
        sourceSandboxId: src.id,
        snapshotToken: src.envdToken,
        readyPort: null,
        bootCheckpointDir: null,
        bootCheckpointAddress: null,
        bootCheckpointKey: null,
        createdAt: Date.now(),
      };
      this.templates.upsert(snapshot);
      return snapshot;
    });
  }

  listSnapshots(sandboxId: string | undefined, limit: number, nextToken: string | undefined): { items: TemplateRecord[]; nextToken?: string } {
    const all = this.templates.snapshots().filter((s) => sandboxId === undefined || s.sourceSandboxId === sandboxId);
    const start = nextToken === undefined ? 0 : all.findIndex((s) => s.id === decodeSnapshotToken(nextToken));
    if (start < 0) throw errors.badRequest(`nextToken '${nextToken}' does not name a snapshot`);
    const items = all.slice(start, start + limit);
    const next = all[start + limit];
    return { items, nextToken: next ? encodeSnapshotToken(next.id) : undefined };
  }

  /** Deletes a snapshot; false when there is none of that id. Built-in templates are not deleted. */
  async deleteSnapshot(id: string): Promise<boolean> {
    const snapshot = this.templates.find(id);
    if (!snapshot?.snapshotDir) return false;
    this.templates.delete(id);
    await rm(snapshot.snapshotDir, { recursive: true, force: true });
    return true;
  }

  list(input: ListInput): { items: SandboxRecord[]; nextToken?: string } {
    const after = input.nextToken === undefined ? undefined : decodePageToken(input.nextToken);
    // Sandboxes mid-operation are listed in the state they are leaving or reaching.
    const states = new Set<SandboxState>(input.states);
    if (states.has('running')) states.add('resuming');
    if (states.has('paused')) states.add('pausing');
    // One extra row tells whether another page exists.
    const rows = this.store.list({ states: [...states], metadata: input.metadata, after, limit: input.limit + 1 });
    const items = rows.slice(0, input.limit);
    const more = rows.length > input.limit;
    return { items, nextToken: more ? encodePageToken(items[items.length - 1]!) : undefined };
  }

  /** Kills a sandbox, running or paused; false when there was none. */
  async kill(id: string): Promise<boolean> {
    if (!this.store.get(id)) return false;
    return this.ops.run(id, async () => {
      const rec = this.store.get(id);
      if (!rec) return false;
      await this.destroy(rec);
      return true;
    });
  }

  private async destroy(rec: SandboxRecord): Promise<void> {
    this.timers.clear(rec.id);
    this.idleTimers.clear(rec.id);
    this.lastActivity.delete(rec.id);
    this.store.setState(rec.id, 'killing');
    this.emit('stopping', rec.id);
    await this.runtime.destroy(rec.id);
    await rm(this.checkpointDir(rec.id), { recursive: true, force: true });
    this.store.delete(rec.id);
  }

  private onDeadline(id: string): void {
    const rec = this.store.get(id);
    if (!rec) return;
    const act =
      rec.state === 'running' && rec.autoPause
        ? this.ops.run(id, async () => {
            const now = this.store.get(id);
            if (now?.state === 'running') await this.pauseNow(now);
          })
        : this.kill(id);
    act.catch((err) => console.error(`sandbox ${id}: ${rec.autoPause ? 'pause' : 'kill'} at deadline failed: ${String(err)}`));
  }

  private onIdleCheck(id: string): void {
    const rec = this.store.get(id);
    if (!rec || rec.state !== 'running' || rec.idleTimeoutSeconds === null) return;
    const idleUntil = (this.lastActivity.get(id) ?? Date.now()) + rec.idleTimeoutSeconds * 1000;
    if (idleUntil > Date.now()) {
      this.idleTimers.set(id, idleUntil);
      return;
    }
    this.kill(id).catch((err) => console.error(`sandbox ${id}: kill after idle timeout failed: ${String(err)}`));
  }

  /**
   * After a restart: keep what still runs and what is paused, finish what was half done, and
   * remove whatever the runtime holds that the database does not know (a crash between the two).
   */
  async recover(): Promise<{ adopted: number; removed: number }> {
    const running = new Set(await this.runtime.listRunning());
    let adopted = 0;
    let removed = 0;
    for (const rec of this.store.all()) {
      const checkpointWhole = this.runtime.checkpointIsWhole(this.checkpointDir(rec.id));
      let state: SandboxState | 'gone' = 'gone';
      if ((rec.state === 'running' || rec.state === 'pausing' || rec.state === 'resuming') && running.has(rec.id)) {
        state = 'running';
      } else if ((rec.state === 'paused' || rec.state === 'pausing' || rec.state === 'resuming') && checkpointWhole) {
        state = 'paused';
      }
      const expired = state === 'running' ? rec.endAt <= Date.now() && !rec.autoPause : state === 'paused' && rec.startedAt + this.config.pausedRetentionSeconds * 1000 <= Date.now();
      if (state === 'gone' || expired) {
        await this.destroy(rec);
        removed++;
        continue;
      }
      if (state !== rec.state) {
        if (state === 'running') this.store.setResumed(rec.id, rec.endAt);
        else this.store.setPaused(rec.id, rec.pausedAt ?? Date.now());
      }
      if (state === 'running') await rm(this.checkpointDir(rec.id), { recursive: true, force: true });
      this.armTimers({ ...rec, state });
      adopted++;
    }
    // Checkpoints being discarded and clone images are temporary: a crash may have left some.
    const checkpoints = path.join(this.config.dataDir, 'checkpoints');
    for (const name of await readdir(checkpoints).catch(() => [] as string[])) {
      if (name.includes('.discarded-') || name.startsWith('clone-')) await rm(path.join(checkpoints, name), { recursive: true, force: true });
    }
    const known = new Set(this.store.all().map((r) => r.id));
    for (const id of await this.runtime.listPresent()) {
      if (known.has(id)) continue;
      await this.runtime.destroy(id);
      removed++;
    }
    return { adopted, removed };
  }

  /** Stops the timers and removes the warm pool; sandboxes handed out keep running and are
   *  re-adopted at the next start. */
  async close(): Promise<void> {
    this.timers.clearAll();
    this.idleTimers.clearAll();
    await this.pool.close();
    // Everything not handed out: the pool, and starts cut short.
    const unowned = this.store.all().filter((r) => r.state === 'pooled' || r.state === 'starting');
    await Promise.all(unowned.map((rec) => this.kill(rec.id).catch((err) => console.error(`sandbox ${rec.id}: ${String(err)}`))));
  }
}

/** Removes a checkpoint off the critical path: renamed aside at once (so a new checkpoint of the
 *  same sandbox never meets the deletion), deleted in the background. */
async function discard(dir: string): Promise<void> {
  const aside = `${dir}.discarded-${randomBytes(4).toString('hex')}`;
  await rename(dir, aside).catch(() => undefined);
  rm(aside, { recursive: true, force: true }).catch((err) => console.error(`cannot remove ${aside}: ${String(err)}`));
}

/** A saved state (a `snapshot` checkpoint, or a paused one copied) that new sandboxes start from. */
function savedSource(dir: string, address: string | null): RestoreSource {
  return { dir, withSavedLayer: true, checkpointAddress: address ?? undefined };
}

/** The template's saved boot state, which a create or the pool restores instead of booting. */
function bootState(template: TemplateRecord): { source: RestoreSource; token: null } | undefined {
  return template.bootCheckpointDir ? { source: savedSource(template.bootCheckpointDir, template.bootCheckpointAddress), token: null } : undefined;
}
