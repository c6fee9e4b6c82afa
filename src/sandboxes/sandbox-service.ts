// The lifecycle of sandboxes: create, connect, set timeout, kill, list, and the deadline timers.
// Talks to the runtime and the store only; knows nothing of HTTP.
import { EventEmitter } from 'node:events';
import type { Config } from '../config.js';
import { errors } from '../errors.js';
import type { NetworkRange } from '../runtime/network-lease.js';
import type { Runtime } from '../runtime/runtime.js';
import type { SandboxRecord, SandboxState, SandboxStore } from '../store/sandbox-store.js';
import type { TemplateStore } from '../store/template-store.js';
import { defaultSandboxEnv } from './default-env.js';
import { initEnvd, waitForEnvd } from './envd-client.js';
import { newAccessToken, newSandboxId } from './ids.js';
import { DeadlineTimers } from './deadline-timers.js';

export interface CreateSandboxInput {
  templateId: string;
  timeoutSeconds?: number;
  metadata?: Record<string, string>;
  envVars?: Record<string, string>;
  autoPause?: boolean;
  autoResume?: boolean;
  allowInternetAccess?: boolean;
}

export interface ListInput {
  states: SandboxState[];
  metadata: Record<string, string>;
  limit: number;
  nextToken?: string;
}

export interface SandboxRoute {
  id: string;
  address: string;
  state: SandboxState;
}

const envdStartTimeoutMs = 15_000;

export interface SandboxServiceEvents {
  /** A sandbox is going away: open connections to it should be cut. */
  stopping: [id: string];
}

export class SandboxService extends EventEmitter<SandboxServiceEvents> {
  private readonly timers: DeadlineTimers;
  /** Operations in flight per sandbox, so two kills of one sandbox do one kill. */
  private readonly killing = new Map<string, Promise<void>>();

  constructor(
    private readonly config: Config,
    private readonly store: SandboxStore,
    private readonly templates: TemplateStore,
    private readonly runtime: Runtime,
    private readonly network: NetworkRange,
  ) {
    super();
    this.timers = new DeadlineTimers((id) => this.onDeadline(id));
  }

  checkTimeout(seconds: number | undefined): number {
    const value = seconds ?? this.config.defaultTimeoutSeconds;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > this.config.maxTimeoutSeconds) {
      throw errors.invalidTimeout(seconds, this.config.maxTimeoutSeconds);
    }
    return Math.ceil(value);
  }

  async create(input: CreateSandboxInput): Promise<SandboxRecord> {
    const timeout = this.checkTimeout(input.timeoutSeconds);
    const template = this.templates.find(input.templateId);
    if (!template) throw errors.templateNotFound(input.templateId);

    const id = newSandboxId();
    const networkIndex = this.network.firstFree(this.store.usedNetworkIndexes());
    if (networkIndex === undefined) throw errors.capacityExhausted('every sandbox network address is in use');
    const lease = this.network.lease(networkIndex);
    const now = Date.now();
    // Inserting first reserves the network index (UNIQUE) before any await lets another create in.
    const record = this.store.insert({
      id,
      templateId: template.id,
      alias: template.alias,
      state: 'starting',
      envdToken: newAccessToken(),
      metadata: input.metadata ?? {},
      envVars: input.envVars ?? {},
      cpuCount: template.cpuCount,
      memoryMB: template.memoryMB,
      diskSizeMB: template.diskSizeMB,
      startedAt: now,
      endAt: now + timeout * 1000,
      autoPause: input.autoPause ?? false,
      autoResume: input.autoResume ?? false,
      allowInternetAccess: input.allowInternetAccess ?? true,
      networkIndex,
    });
    try {
      await this.runtime.create({
        id,
        layers: template.layers,
        cpuCount: template.cpuCount,
        memoryMB: template.memoryMB,
        pidsLimit: this.config.pidsLimit,
        network: lease,
        startCommand: template.startCmd ?? undefined,
      });
      await waitForEnvd(lease.sandboxAddress, envdStartTimeoutMs);
      await initEnvd(lease.sandboxAddress, {
        accessToken: record.envdToken,
        envVars: { ...record.envVars, ...defaultSandboxEnv(id, template.id) },
        defaultUser: 'user',
      });
    } catch (err) {
      await this.runtime.destroy(id).catch(() => undefined);
      this.store.delete(id);
      throw errors.startFailed(id, err);
    }
    // A kill that arrived while starting wins.
    if (!this.store.get(id)) throw errors.sandboxNotFound(id);
    this.store.setState(id, 'running');
    this.timers.set(id, record.endAt);
    return { ...record, state: 'running' };
  }

  get(id: string): SandboxRecord {
    const rec = this.store.get(id);
    if (!rec || rec.state === 'killing') throw errors.sandboxNotFound(id);
    return rec;
  }

  /** Where proxied traffic for a sandbox goes; undefined when it is not there to answer. */
  route(id: string): SandboxRoute | undefined {
    const rec = this.store.get(id);
    if (!rec || rec.networkIndex === null) return undefined;
    return { id, state: rec.state, address: this.network.lease(rec.networkIndex).sandboxAddress };
  }

  /** The route for traffic into a sandbox (envd, interpreter, user ports), or undefined when it
   *  cannot take traffic. This is where a paused sandbox with auto-resume will be resumed. */
  async routeForTraffic(id: string): Promise<SandboxRoute | undefined> {
    const route = this.route(id);
    return route?.state === 'running' ? route : undefined;
  }

  setTimeout(id: string, seconds: number): SandboxRecord {
    const timeout = this.checkTimeout(seconds);
    const rec = this.get(id);
    const endAt = Date.now() + timeout * 1000;
    this.store.setEndAt(id, endAt);
    this.timers.set(id, endAt);
    return { ...rec, endAt };
  }

  /** Connecting to a running sandbox extends its deadline, never shortens it. */
  connect(id: string, seconds: number | undefined): SandboxRecord {
    const timeout = this.checkTimeout(seconds);
    const rec = this.get(id);
    if (rec.state !== 'running') throw errors.sandboxNotRunning(id, rec.state);
    const endAt = Math.max(rec.endAt, Date.now() + timeout * 1000);
    if (endAt !== rec.endAt) {
      this.store.setEndAt(id, endAt);
      this.timers.set(id, endAt);
    }
    return { ...rec, endAt };
  }

  list(input: ListInput): { items: SandboxRecord[]; nextToken?: string } {
    const beforeSeq = input.nextToken === undefined ? undefined : decodePageToken(input.nextToken);
    // One extra row tells whether another page exists.
    const rows = this.store.list({ states: input.states, metadata: input.metadata, beforeSeq, limit: input.limit + 1 });
    const items = rows.slice(0, input.limit);
    const more = rows.length > input.limit;
    return { items, nextToken: more ? encodePageToken(items[items.length - 1]!.seq) : undefined };
  }

  /** Kills a sandbox; false when there was none. */
  async kill(id: string): Promise<boolean> {
    const inFlight = this.killing.get(id);
    if (inFlight) {
      await inFlight;
      return true;
    }
    const rec = this.store.get(id);
    if (!rec) return false;
    const op = this.destroy(rec).finally(() => this.killing.delete(id));
    this.killing.set(id, op);
    await op;
    return true;
  }

  private async destroy(rec: SandboxRecord): Promise<void> {
    this.timers.clear(rec.id);
    this.store.setState(rec.id, 'killing');
    this.emit('stopping', rec.id);
    await this.runtime.destroy(rec.id);
    this.store.delete(rec.id);
  }

  private onDeadline(id: string): void {
    this.kill(id).catch((err) => console.error(`sandbox ${id}: kill at deadline failed: ${String(err)}`));
  }

  /**
   * After a restart: keep what still runs, finish what was half done, and remove whatever the
   * runtime holds that the database does not know (a crash between the two).
   */
  async recover(): Promise<{ adopted: number; removed: number }> {
    const running = new Set(await this.runtime.listRunning());
    let adopted = 0;
    let removed = 0;
    for (const rec of this.store.all()) {
      if (rec.state === 'running' && running.has(rec.id) && rec.endAt > Date.now()) {
        this.timers.set(rec.id, rec.endAt);
        adopted++;
      } else {
        await this.destroy(rec);
        removed++;
      }
    }
    const known = new Set(this.store.all().map((r) => r.id));
    for (const id of await this.runtime.listPresent()) {
      if (known.has(id)) continue;
      await this.runtime.destroy(id);
      removed++;
    }
    return { adopted, removed };
  }

  /** Stops the timers without touching sandboxes: they keep running and are re-adopted. */
  close(): void {
    this.timers.clearAll();
  }
}

function encodePageToken(seq: number): string {
  return Buffer.from(`seq:${seq}`).toString('base64url');
}

function decodePageToken(token: string): number {
  const m = /^seq:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (!m) throw errors.badRequest(`nextToken '${token}' is not a token this server issued`);
  return Number(m[1]);
}
