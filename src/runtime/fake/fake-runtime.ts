// A runtime in memory: sandboxes are entries in a map, checkpoints are folders holding only the
// mark of a finished one. It passes the same contract as runc (runtime-contract.ts) and lets the
// lifecycle (state machine, operations, recovery) be tested without root. Tests can set what a
// crash would have left (`containers`), make the next call of a method fail (`failNext`), and read
// which calls were made (`calls`).
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type {
  CheckpointMode,
  ContainerState,
  EgressPolicy,
  HostResources,
  NetworkLease,
  RestoreSource,
  Runtime,
  SandboxSpec,
  SandboxStats,
} from '../runtime.js';

interface FakeSandbox {
  spec: SandboxSpec;
  container: ContainerState | 'absent';
  egress?: EgressPolicy;
}

type Method = 'create' | 'destroy' | 'checkpoint' | 'restore' | 'updateEgress' | 'copyStopped';

export class FakeRuntime implements Runtime {
  readonly name = 'fake';
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly calls: string[] = [];
  resources: HostResources = { memoryAvailableBytes: 16 * 2 ** 30, diskAvailableBytes: 100 * 2 ** 30 };
  private readonly failures = new Map<Method, Error>();

  /** The next call of `method` fails with `err`. */
  failNext(method: Method, err = new Error(`fake ${method} failure`)): void {
    this.failures.set(method, err);
  }

  private enter(method: Method, id: string): void {
    this.calls.push(`${method} ${id}`);
    const err = this.failures.get(method);
    if (err) {
      this.failures.delete(method);
      throw err;
    }
  }

  /** Whether the sandbox at `address` runs (what a readiness check would see). */
  answers(address: string): boolean {
    return [...this.sandboxes.values()].some((s) => s.container === 'running' && s.spec.network.sandboxAddress === address);
  }

  hostRoutes(): Set<string> {
    return new Set();
  }

  async create(spec: SandboxSpec): Promise<void> {
    this.enter('create', spec.id);
    if (spec.layers.some((l) => !existsSync(l))) throw new Error(`fake: layer missing in ${spec.layers.join(':')}`);
    this.sandboxes.set(spec.id, { spec, container: 'running', egress: spec.egress });
  }

  async destroy(id: string): Promise<void> {
    this.enter('destroy', id);
    this.sandboxes.delete(id);
  }

  async listRunning(): Promise<string[]> {
    return [...this.sandboxes].filter(([, s]) => s.container === 'running').map(([id]) => id);
  }

  async listPresent(): Promise<string[]> {
    return [...this.sandboxes.keys()];
  }

  async settle(): Promise<void> {
    this.calls.push('settle');
  }

  async inspect(): Promise<Map<string, ContainerState>> {
    const seen = new Map<string, ContainerState>();
    for (const [id, s] of this.sandboxes) if (s.container !== 'absent') seen.set(id, s.container);
    return seen;
  }

  async adopt(id: string): Promise<void> {
    this.calls.push(`adopt ${id}`);
    const s = this.sandboxes.get(id);
    if (s?.container === 'frozen') s.container = 'running';
  }

  async clearStopped(id: string): Promise<void> {
    this.calls.push(`clearStopped ${id}`);
    const s = this.sandboxes.get(id);
    if (s?.container === 'stopped') s.container = 'absent';
  }

  async stats(id: string): Promise<SandboxStats | undefined> {
    const s = this.sandboxes.get(id);
    if (!s || s.container !== 'running') return undefined;
    return { cpuUsageNs: 1, memoryUsedBytes: 1, memoryLimitBytes: s.spec.memoryMB * 1024 * 1024, memoryCacheBytes: 0, pids: 1 };
  }

  async hostResources(): Promise<HostResources> {
    return this.resources;
  }

  writableLayer(id: string): string {
    return `/nonexistent/fake/${id}/upper`;
  }

  async updateEgress(id: string, _lease: NetworkLease, egress: EgressPolicy): Promise<void> {
    this.enter('updateEgress', id);
    const s = this.sandboxes.get(id);
    if (!s) throw new Error(`fake: no sandbox ${id}`);
    s.egress = egress;
  }

  async checkpoint(id: string, dir: string, mode: CheckpointMode): Promise<void> {
    await rm(dir, { recursive: true, force: true });
    try {
      this.enter('checkpoint', id);
      const s = this.sandboxes.get(id);
      if (!s || s.container !== 'running') throw new Error(`fake: sandbox ${id} is not running`);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'complete'), mode);
      if (mode === 'stop') s.container = 'absent';
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  checkpointIsWhole(dir: string): boolean {
    return existsSync(path.join(dir, 'complete'));
  }

  async finishStopCheckpoint(dir: string): Promise<boolean> {
    return this.checkpointIsWhole(dir);
  }

  async restore(spec: SandboxSpec, source: RestoreSource): Promise<void> {
    this.enter('restore', spec.id);
    if (!this.checkpointIsWhole(source.dir)) throw new Error(`fake: no whole checkpoint in ${source.dir}`);
    const existing = this.sandboxes.get(spec.id);
    if (existing?.container === 'running') throw new Error(`fake: sandbox ${spec.id} already runs`);
    this.sandboxes.set(spec.id, { spec, container: 'running', egress: spec.egress ?? existing?.egress });
  }

  async savedStateKey(spec: Pick<SandboxSpec, 'layers' | 'startCommand'>): Promise<string> {
    return `fake:${spec.layers.join(':')}:${spec.startCommand ?? ''}`;
  }

  async copyStopped(id: string, pausedDir: string, dir: string): Promise<void> {
    this.enter('copyStopped', id);
    if (!this.checkpointIsWhole(pausedDir)) throw new Error(`fake: ${id} has no whole pause checkpoint`);
    await mkdir(dir, { recursive: true });
    for (const name of await readdir(pausedDir)) await writeFile(path.join(dir, name), '');
  }
}
