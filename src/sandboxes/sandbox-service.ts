// The lifecycle of sandboxes as the API and the proxies see it: one entry per call, each handed to
// the module of its operation (create.ts, persistence.ts, clones.ts, expiry.ts, recovery.ts,
// traffic-routes.ts) over the shared core (lifecycle.ts) and the state machine (state.ts).
// Knows nothing of HTTP.
import { envdLogMaxBytes, envdLogName } from '../envd/log-file.js';
import { errors } from '../errors.js';
import type { RunningSize, SandboxRecord, SandboxState } from '../store/sandbox-store.js';
import type { OperationEvent } from '../store/operation-store.js';
import type { SnapshotRecord } from '../store/snapshot-store.js';
import { type CloneInput, Clones, type ForkInput } from './clones.js';
import { BuildSandboxes } from './build-sandboxes.js';
import { Creator } from './create.js';
import type { TemplateRecord } from '../store/template-store.js';
import { Expiry } from './expiry.js';
import { Lifecycle, type LifecycleDeps, type LifecycleEvents } from './lifecycle.js';
import { decodePageToken, encodePageToken } from './page-tokens.js';
import { Persistence } from './persistence.js';
import { recover, type RecoveryReport } from './recovery.js';
import { type CreateSandboxInput, type NetworkRulesInput, rulesFromInput, egressOf } from './sandbox-records.js';
import { isHidden, storedStatesFor } from './state.js';
import { routeTraffic, type TrafficRoute } from './traffic-routes.js';

export type { CloneInput, ForkInput } from './clones.js';

export interface ListInput {
  states: SandboxState[];
  metadata: Record<string, string>;
  limit: number;
  nextToken?: string;
  order?: 'asc' | 'desc';
  /** Unix ms. */
  startedAfter?: number;
  /** A template's id or name (or `name:tag`). */
  template?: string;
}

export class SandboxService {
  private readonly lc: Lifecycle;
  private readonly creator: Creator;
  private readonly persistence: Persistence;
  private readonly clones: Clones;

  constructor(deps: LifecycleDeps) {
    const expiry = new Expiry(() => this.lc, () => this.persistence);
    this.lc = new Lifecycle(deps, (id) => expiry.onDeadline(id), (id) => expiry.onIdleCheck(id));
    this.creator = new Creator(this.lc);
    this.persistence = new Persistence(this.lc);
    this.clones = new Clones(this.lc, (s) => this.creator.checkTimeout(s), (n, work) => this.creator.withCapacity(n, work));
  }

  on<E extends keyof LifecycleEvents>(event: E, listener: (...args: LifecycleEvents[E]) => void): this {
    this.lc.on(event, listener as never);
    return this;
  }

  off<E extends keyof LifecycleEvents>(event: E, listener: (...args: LifecycleEvents[E]) => void): this {
    this.lc.off(event, listener as never);
    return this;
  }

  checkTimeout(seconds: number | undefined): number {
    return this.creator.checkTimeout(seconds);
  }

  /** `autoPauseMemory` false: a pause at the timeout keeps the files only. */
  async create(input: CreateSandboxInput & { autoPauseMemory?: boolean }): Promise<SandboxRecord> {
    const rec = await this.creator.create(input);
    if (input.autoPauseMemory === false) this.lc.store.setAutoPauseMemory(rec.id, false);
    return rec;
  }

  /** Each template's saved boot state and warm pool, prepared in the background after start. */
  prepareFastCreate(): Promise<void> {
    return this.creator.prepareFastCreate();
  }

  /** Ends what prepareFastCreate and template builds left saving in the background (see Creator). */
  stopPreparing(): Promise<void> {
    return this.creator.stopPreparing();
  }

  /** Sandboxes for a template build's steps. */
  buildSandboxes(): BuildSandboxes {
    return new BuildSandboxes(this.lc);
  }

  /** A built template's boot state (service up, ready check passed); see Creator. */
  prepareBuiltTemplate(template: TemplateRecord, readyTimeoutMs: number): Promise<void> {
    return this.creator.prepareBuiltTemplate(template, readyTimeoutMs);
  }

  /** After a template's row changed (a new build) or went: its warm pool follows. */
  templateChanged(templateId: string): Promise<void> {
    return this.creator.refreshPool(templateId);
  }

  templateDeleted(templateId: string): Promise<void> {
    return this.creator.forgetTemplate(templateId);
  }

  /** Layers that sandboxes (of any state) and snapshots start from: the layer cache keeps them. */
  layersInUse(): Set<string> {
    const used = new Set<string>();
    for (const r of this.lc.store.all()) for (const l of r.layers) used.add(l);
    for (const s of this.lc.snapshots.all()) for (const l of s.layers) used.add(l);
    return used;
  }

  /** A sandbox a client may see; not found while it starts, sits in the pool or is being killed. */
  get(id: string): SandboxRecord {
    const rec = this.lc.store.get(id);
    if (!rec || isHidden(rec.state)) throw errors.sandboxNotFound(id);
    return rec;
  }

  /** The volumes a sandbox mounts, by mount point. */
  volumeMountsOf(id: string): Array<{ name: string; path: string }> {
    return this.lc.records.volumesOf(id);
  }

  /** Every sandbox listed as running, with what the metrics sampler needs of it. */
  sizesOfRunning(): RunningSize[] {
    return this.lc.store.sizesOfRunning();
  }

  /** Whether a sandbox is running now (for the metrics sampler). */
  isRunning(id: string): boolean {
    return this.lc.store.get(id)?.state === 'running';
  }

  /** Traffic that reached a sandbox without asking routeTraffic (relayed by the data plane)
   *  counts as activity for its idle timeout too. */
  noteTraffic(id: string): void {
    const rec = this.lc.store.get(id);
    if (rec?.state === 'running' && rec.idleTimeoutSeconds !== null) this.lc.lastActivity.set(id, Date.now());
  }

  /** `probe` reads the data plane's traffic counters (noteTraffic) before an idle timeout kills. */
  useTrafficProbe(probe: () => Promise<void>): void {
    this.lc.trafficProbe = probe;
  }

  /** Where traffic for a sandbox's port goes, or why it cannot (see traffic-routes.ts). */
  routeTraffic(id: string, port: number): Promise<TrafficRoute> {
    // Traffic never reboots a sandbox paused without its memory (as the e2b API documents):
    // only an explicit connect does.
    const resume = (sid: string) => {
      if (this.lc.store.pauseOptions(sid).pausedWithoutMemory) return Promise.reject(errors.noAutoResumeWithoutMemory(sid));
      return this.connect(sid, undefined);
    };
    return routeTraffic(this.lc, resume, id, port);
  }

  setTimeout(id: string, seconds: number): SandboxRecord {
    const timeout = this.checkTimeout(seconds);
    const rec = this.get(id);
    const endAt = Date.now() + timeout * 1000;
    // One write: the intent and the outcome are the same row.
    this.lc.store.setEndAt(id, endAt);
    if (rec.state === 'running') this.lc.timers.set(id, endAt);
    this.lc.log.info({ op: 'timeout', sandboxId: id, timeoutSeconds: timeout }, 'timeout set');
    return { ...rec, endAt };
  }

  /** `reboot`: a paused sandbox boots again instead of being restored (e2b's onResume 'reboot'). */
  connect(id: string, seconds: number | undefined, reboot = false): Promise<SandboxRecord> {
    return this.persistence.connect(id, this.checkTimeout(seconds), (sid) => this.get(sid), reboot);
  }

  /** Replaces a sandbox's outbound rules (both lists; none clears them). Its network lives on
   *  while it is paused, so the rules can change then too. */
  async updateNetwork(id: string, update: NetworkRulesInput): Promise<void> {
    const rec = this.get(id);
    if (rec.networkIndex === null) throw errors.sandboxNotRunning(id, rec.state);
    const rules = rulesFromInput({ network: update });
    await this.lc.operate('network', id, { rules }, async () => {
      await this.lc.runtime.updateEgress(id, this.lc.records.lease(rec), egressOf(rec.allowInternetAccess, rules));
      this.lc.store.setNetworkRules(id, rules);
    });
  }

  /** False when it was paused already; `keepMemory` false keeps only its files. */
  pause(id: string, keepMemory = true): Promise<boolean> {
    return this.persistence.pause(id, (sid) => this.get(sid), keepMemory);
  }

  clone(id: string, input: CloneInput): Promise<SandboxRecord[]> {
    return this.clones.clone(id, input, (sid) => this.get(sid));
  }

  fork(id: string, input: ForkInput): Promise<PromiseSettledResult<SandboxRecord>[]> {
    return this.clones.fork(id, input, (sid) => this.get(sid));
  }

  createSnapshot(id: string, name?: string): Promise<SnapshotRecord> {
    return this.clones.createSnapshot(id, (sid) => this.get(sid), name);
  }

  listSnapshots(sandboxId: string | undefined, limit: number, nextToken: string | undefined, name?: string): { items: SnapshotRecord[]; nextToken?: string } {
    return this.clones.listSnapshots(sandboxId, limit, nextToken, name);
  }

  deleteSnapshot(id: string): Promise<boolean> {
    return this.clones.deleteSnapshot(id);
  }

  /** A page of sandboxes, and how many of those the filters (but for the state) match run now. */
  list(input: ListInput): { items: SandboxRecord[]; nextToken?: string; totalRunning: number } {
    const after = input.nextToken === undefined ? undefined : decodePageToken(input.nextToken);
    // Sandboxes mid-operation are listed in the state they are leaving or reaching.
    const states = [...new Set(input.states.flatMap((s) => (s === 'running' || s === 'paused' ? storedStatesFor(s) : [s])))];
    const filter = { metadata: input.metadata, startedAfter: input.startedAfter, templates: this.templateNames(input.template) };
    // One extra row tells whether another page exists.
    const rows = this.lc.store.list({ ...filter, states, after, order: input.order, limit: input.limit + 1 });
    const items = rows.slice(0, input.limit);
    const more = rows.length > input.limit;
    const totalRunning = this.lc.store.count({ ...filter, states: storedStatesFor('running') });
    return { items, nextToken: more ? encodePageToken(items[items.length - 1]!) : undefined, totalRunning };
  }

  /** What a sandbox's template id or name may be for a template filter: as given, and the
   *  template's id and name when it names one. */
  private templateNames(template: string | undefined): string[] | undefined {
    if (template === undefined) return undefined;
    const found = this.lc.resolveTemplate(template);
    return [...new Set([template, ...(found ? [found.id, ...(found.alias ? [found.alias] : [])] : [])])];
  }

  /** envd's log (src/envd/log-file.ts) as the sandbox left it: the previous file, then the
   *  current one. */
  envdLogTexts(id: string): Promise<string[]> {
    // Twice the size envd keeps a file to: room for lines a process in the sandbox added itself.
    const limit = 2 * envdLogMaxBytes;
    return Promise.all([`${envdLogName}.1`, envdLogName].map((name) => this.lc.runtime.readWrittenFile(id, name, limit)));
  }

  /** What happened to a sandbox, oldest first: its lifecycle operations, kept a day after they
   *  end (a killed sandbox's too). Not found when there is neither the sandbox nor any. */
  history(id: string): OperationEvent[] {
    const events = this.lc.operations.history(id);
    if (events.length === 0) this.get(id);
    return events;
  }

  /** Kills a sandbox, running or paused; false when there was none. */
  kill(id: string): Promise<boolean> {
    return this.lc.kill(id);
  }

  recover(): Promise<RecoveryReport> {
    return recover(this.lc);
  }

  /** Paused sandboxes whose processes wait in memory (a resume thaws them), oldest first. */
  warmPaused(): string[] {
    return this.lc.warm.ids();
  }

  /** Stops the timers, evicts warm-paused sandboxes to their checkpoints and removes the warm
   *  pool; sandboxes handed out keep running and are re-adopted at the next start. */
  async close(): Promise<void> {
    this.lc.timers.clearAll();
    this.lc.idleTimers.clearAll();
    await this.lc.warm.close();
    await this.creator.pool.close();
    // Everything not handed out: the pool, and starts cut short.
    const unowned = this.lc.store.all().filter((r) => r.state === 'pooled' || r.state === 'starting');
    await Promise.all(unowned.map((rec) => this.kill(rec.id).catch((err) => this.lc.log.error({ sandboxId: rec.id, err }, 'removing an unowned sandbox at close failed'))));
  }
}
