// What every lifecycle operation shares: the stores, the runtime, the per-sandbox operation queue,
// state transitions written before the runtime acts (sandboxes/state.ts), the journal and the log
// line of each operation, starting a reserved sandbox, the timers, and removing a sandbox.
// The operations themselves live one per module beside this one (create.ts, persistence.ts, …).
import { EventEmitter } from 'node:events';
import type { Config } from '../config.js';
import { describe, errors } from '../errors.js';
import type { Logger } from '../log.js';
import { OperationQueue } from '../operation-queue.js';
import type { NetworkRange } from '../runtime/network/network-lease.js';
import type { RestoreSource, Runtime } from '../runtime/runtime.js';
import type { BootStateStore } from '../store/boot-state-store.js';
import { bringUpService, hasService, type TemplateService } from './template-service.js';
import type { OperationKind, OperationStore } from '../store/operation-store.js';
import type { SandboxRecord, SandboxStore } from '../store/sandbox-store.js';
import type { SnapshotStore } from '../store/snapshot-store.js';
import type { TemplateRecord, TemplateStore } from '../store/template-store.js';
import { DeadlineTimers } from './deadline-timers.js';
import { defaultSandboxEnv } from './default-env.js';
import { envdPort } from '../protocol.js';
import { initEnvd, waitForHealth } from './envd-client.js';
import { SandboxRecords } from './sandbox-records.js';
import { pauseCheckpoint } from './saved-states.js';
import { StartAdmission } from './start-admission.js';
import type { SandboxVolumes } from './volume-mounts.js';
import { assertTransition, type SandboxState } from './state.js';
import { WarmPauses } from './warm-pauses.js';

const envdStartTimeoutMs = 15_000;
/** A template's own service (the interpreter's kernel) may take this long to warm up. */
export const serviceReadyTimeoutMs = 60_000;

export interface LifecycleEvents {
  /** A sandbox stops taking traffic (kill or pause): open connections to it should be cut. */
  stopping: [id: string];
  /** A sandbox was created and runs (the metrics sampler takes its first sample). */
  started: [id: string];
  /** A paused sandbox runs again and takes traffic at `address` (the data plane may route to it
   *  at once: its public-URL policy was set at its create). */
  resumed: [id: string, address: string];
  /** A lifecycle operation ended (for the Prometheus metrics); `error` undefined when it succeeded. */
  operation: [kind: OperationKind, durationMs: number, error: unknown];
}

export interface LifecycleDeps {
  config: Config;
  store: SandboxStore;
  operations: OperationStore;
  templates: TemplateStore;
  snapshots: SnapshotStore;
  bootStates: BootStateStore;
  runtime: Runtime;
  network: NetworkRange;
  log: Logger;
  /** The template a create's `templateID` names (an id, a name, or `name:tag` for a tagged
   *  build); the templates table's id/name lookup when unset. */
  resolveTemplate?: (ref: string) => TemplateRecord | undefined;
  /** Volumes sandboxes may mount; creates naming one are refused without. */
  volumes?: SandboxVolumes;
}

/** A saved state a sandbox starts from instead of booting, and envd's token in it (null: envd
 *  was never initialised there). */
export interface SavedStart {
  source: RestoreSource;
  token: string | null;
}

export class Lifecycle extends EventEmitter<LifecycleEvents> {
  readonly config: Config;
  readonly store: SandboxStore;
  readonly operations: OperationStore;
  readonly templates: TemplateStore;
  readonly snapshots: SnapshotStore;
  readonly bootStates: BootStateStore;
  readonly resolveTemplate: (ref: string) => TemplateRecord | undefined;
  readonly runtime: Runtime;
  readonly records: SandboxRecords;
  readonly log: Logger;
  readonly queue = new OperationQueue();
  readonly admission: StartAdmission;
  readonly timers: DeadlineTimers;
  readonly idleTimers: DeadlineTimers;
  /** Last traffic per sandbox with an idle timeout (unix ms); a restart counts as traffic. */
  readonly lastActivity = new Map<string, number>();
  /** Reads traffic relayed outside Node (the data plane's counters) into lastActivity now, so
   *  that an idle timeout is judged on it; counters are otherwise read every 2 s. */
  trafficProbe: (() => Promise<void>) | undefined;
  /** Paused sandboxes whose processes wait frozen in memory. */
  readonly warm: WarmPauses;

  constructor(deps: LifecycleDeps, onDeadline: (id: string) => void, onIdleCheck: (id: string) => void) {
    super();
    this.config = deps.config;
    this.store = deps.store;
    this.operations = deps.operations;
    this.templates = deps.templates;
    this.snapshots = deps.snapshots;
    this.bootStates = deps.bootStates;
    this.resolveTemplate = deps.resolveTemplate ?? ((ref) => deps.templates.find(ref));
    this.runtime = deps.runtime;
    this.log = deps.log;
    this.records = new SandboxRecords(deps.config, deps.store, deps.runtime, deps.network, deps.volumes);
    this.admission = new StartAdmission(deps.config.startConcurrency);
    this.timers = new DeadlineTimers(onDeadline);
    this.idleTimers = new DeadlineTimers(onIdleCheck);
    this.warm = new WarmPauses(this);
  }


  /** Moves a sandbox to `to`, checked against the state machine. */
  transition(rec: Pick<SandboxRecord, 'id' | 'state'>, to: SandboxState): void {
    assertTransition(rec.id, rec.state, to);
    this.store.setState(rec.id, to);
  }

  /**
   * Runs one lifecycle operation: its intent journaled (with `intent`, the state it moves to,
   * in the same transaction) before `act`, its outcome after; a log line when it starts and one
   * when it ends, with its duration and, when it fails, why.
   */
  async operate<T>(
    kind: OperationKind,
    sandboxId: string,
    detail: Record<string, unknown>,
    act: (journalId: number) => Promise<T>,
    intent?: () => void,
  ): Promise<T> {
    const started = performance.now();
    const journalId = this.operations.begin(kind, sandboxId, detail, intent);
    this.log.info({ op: kind, sandboxId, journalId }, `${kind} started`);
    try {
      const result = await act(journalId);
      this.operations.finish(journalId, 'ok');
      this.log.info({ op: kind, sandboxId, durationMs: Math.round(performance.now() - started) }, `${kind} done`);
      this.emit('operation', kind, performance.now() - started, undefined);
      return result;
    } catch (err) {
      this.operations.finish(journalId, 'failed', describe(err));
      const level = isClientError(err) ? 'info' : 'error';
      this.log[level]({ op: kind, sandboxId, durationMs: Math.round(performance.now() - started), err }, `${kind} failed: ${describe(err)}`);
      this.emit('operation', kind, performance.now() - started, err);
      throw err;
    }
  }

  /** The user and folder a sandbox's commands default to: its template's when a user built it. */
  private envdDefaults(rec: SandboxRecord): { defaultUser: string; defaultWorkdir?: string } {
    const template = this.templates.find(rec.templateId);
    return { defaultUser: template?.defaultUser ?? 'user', defaultWorkdir: template?.defaultWorkdir ?? undefined };
  }

  /** Hands envd its token and environment; `currentToken` when it was initialised before (a
   *  restore from a saved state). */
  async init(rec: SandboxRecord, currentToken?: string): Promise<void> {
    await waitForHealth(this.records.addressOf(rec), envdPort, envdStartTimeoutMs);
    await this.handOver(rec, currentToken);
  }

  /** `init` of an envd known to answer already: the /init request alone. */
  async handOver(rec: SandboxRecord, currentToken?: string): Promise<void> {
    await initEnvd(
      this.records.addressOf(rec),
      { accessToken: rec.envdToken, envVars: { ...rec.envVars, ...defaultSandboxEnv(rec.id, rec.templateId) }, ...this.envdDefaults(rec) },
      currentToken,
    );
  }

  /**
   * Starts a reserved (`starting`) sandbox, fresh or from a saved state, once a start slot is free
   * (a burst waits its turn; the timeouts count from there); on failure nothing is left. A fresh
   * boot brings up the template's own service too.
   */
  async start(rec: SandboxRecord, saved?: SavedStart, service: TemplateService | null = null, forPool = false): Promise<SandboxRecord> {
    try {
      await this.admission.run(async () => {
        const spec = this.records.spec(rec);
        if (saved) await this.runtime.restore(spec, saved.source);
        else await this.runtime.create(spec);
        // A pooled sandbox gets its token and environment when a create takes it.
        if (forPool) await waitForHealth(this.records.addressOf(rec), envdPort, envdStartTimeoutMs);
        else await this.init(rec, saved?.token ?? undefined);
      }, forPool);
      // A saved state has the template's service warm already; a fresh boot waits for it.
      if (!saved && service && hasService(service)) {
        await bringUpService(this.records.addressOf(rec), service, serviceReadyTimeoutMs, forPool ? undefined : rec.envdToken);
      }
    } catch (err) {
      await this.runtime.destroy(rec.id).catch((e) => this.log.error({ sandboxId: rec.id, err: e }, 'cleaning up a failed start failed'));
      this.store.delete(rec.id);
      throw errors.startFailed(rec.id, err);
    }
    // A kill that arrived while starting wins.
    const now = this.store.get(rec.id);
    if (!now || now.state !== 'starting') throw errors.sandboxNotFound(rec.id);
    if (forPool) {
      this.transition(now, 'pooled');
      return { ...rec, state: 'pooled' };
    }
    return this.markRunning(now);
  }

  /** A started sandbox, handed to its create: running, its timers armed, its sampling begun. */
  markRunning(rec: SandboxRecord): SandboxRecord {
    this.transition(rec, 'running');
    const running: SandboxRecord = { ...rec, state: 'running' };
    this.armTimers(running);
    this.emit('started', rec.id);
    return running;
  }

  /** A sandbox running again after a resume (its record already says so, with its new end):
   *  its timers armed, the data plane told where it is. */
  markResumed(rec: SandboxRecord, endAt: number): SandboxRecord {
    const resumed: SandboxRecord = { ...rec, state: 'running', pausedAt: null, endAt };
    this.armTimers(resumed);
    if (resumed.networkIndex !== null) this.emit('resumed', rec.id, this.records.addressOf(resumed));
    return resumed;
  }

  armTimers(rec: SandboxRecord): void {
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

  /** Removes a sandbox and everything it holds; its record goes last, so a crash midway leaves
   *  it `killing` and recovery finishes the job. */
  async destroy(rec: SandboxRecord): Promise<void> {
    this.timers.clear(rec.id);
    this.idleTimers.clear(rec.id);
    this.lastActivity.delete(rec.id);
    if (rec.state !== 'killing') this.transition(rec, 'killing');
    this.emit('stopping', rec.id);
    await this.runtime.destroy(rec.id);
    await this.runtime.deleteCheckpoint(pauseCheckpoint(rec.id));
    this.store.delete(rec.id);
  }

  /** Kills a sandbox, running or paused; false when there was none. */
  async kill(id: string): Promise<boolean> {
    if (!this.store.get(id)) return false;
    return this.queue.run(id, async () => {
      const rec = this.store.get(id);
      if (!rec) return false;
      await this.operate('kill', id, {}, () => this.destroy({ ...rec, state: 'killing' }), () => {
        if (rec.state !== 'killing') this.transition(rec, 'killing');
      });
      return true;
    });
  }
}

/** Errors that are the caller's (4xx): logged as information, not as failures of the server. */
function isClientError(err: unknown): boolean {
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' && status < 500;
}
