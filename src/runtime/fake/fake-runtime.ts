// A runtime in memory: sandboxes and checkpoints are entries in maps. It passes the same contract as runc (contract.case.ts) and lets the
// lifecycle (state machine, operations, recovery) be tested without root. Tests can set what a
// crash would have left (`containers`), make the next call of a method fail (`failNext`), and read
// which calls were made (`calls`).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type {
  CheckpointMode,
  CheckpointRef,
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

type Method = 'create' | 'commit' | 'destroy' | 'checkpoint' | 'restore' | 'updateEgress' | 'copyStopped' | 'thaw' | 'endFrozen';

export class FakeRuntime implements Runtime {
  readonly name = 'fake';
  readonly sandboxes = new Map<string, FakeSandbox>();
  /** Checkpoints by `kind/name`; false for one cut short (as a crash leaves it). */
  readonly checkpoints = new Map<string, boolean>();
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

  async commit(id: string, to: string): Promise<void> {
    this.enter('commit', id);
    if (!this.sandboxes.has(id)) throw new Error(`fake: no sandbox ${id}`);
    await mkdir(to);
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
    if (s?.container === 'stopped' || s?.container === 'frozen') s.container = 'absent';
  }

  async endFrozen(id: string, ref: CheckpointRef): Promise<void> {
    this.enter('endFrozen', id);
    const s = this.sandboxes.get(id);
    if (s?.container !== 'frozen') throw new Error(`fake: sandbox ${id} is not frozen`);
    this.checkpoints.set(key(ref), true);
    s.container = 'absent';
  }

  async thaw(id: string): Promise<void> {
    this.enter('thaw', id);
    const s = this.sandboxes.get(id);
    if (s?.container !== 'frozen') throw new Error(`fake: sandbox ${id} is not frozen`);
    s.container = 'running';
  }

  async stats(id: string): Promise<SandboxStats | undefined> {
    const s = this.sandboxes.get(id);
    if (!s || s.container !== 'running') return undefined;
    return { cpuUsageNs: 1, memoryUsedBytes: 1, memoryLimitBytes: s.spec.memoryMB * 1024 * 1024, memoryCacheBytes: 0, pids: 1 };
  }

  async hostResources(): Promise<HostResources> {
    return this.resources;
  }

  async diskUsedBytes(_id: string): Promise<number | undefined> {
    return undefined;
  }

  writableLayer(id: string): string {
    return `/nonexistent/fake/${id}/upper`;
  }

  /** The fake's sandboxes write no files. */
  async readWrittenFile(_id: string, _name: string, _maxBytes: number): Promise<string> {
    return '';
  }

  async updateEgress(id: string, _lease: NetworkLease, egress: EgressPolicy): Promise<void> {
    this.enter('updateEgress', id);
    const s = this.sandboxes.get(id);
    if (!s) throw new Error(`fake: no sandbox ${id}`);
    s.egress = egress;
  }

  async checkpoint(id: string, ref: CheckpointRef, mode: CheckpointMode): Promise<void> {
    this.checkpoints.delete(key(ref));
    this.enter('checkpoint', id);
    const s = this.sandboxes.get(id);
    if (!s || s.container !== 'running') throw new Error(`fake: sandbox ${id} is not running`);
    this.checkpoints.set(key(ref), true);
    if (mode === 'stop') s.container = 'absent';
    if (mode === 'freeze') s.container = 'frozen';
  }

  checkpointIsWhole(ref: CheckpointRef): boolean {
    return this.checkpoints.get(key(ref)) === true;
  }

  async finishStopCheckpoint(ref: CheckpointRef): Promise<boolean> {
    return this.checkpointIsWhole(ref);
  }

  async deleteCheckpoint(ref: CheckpointRef): Promise<void> {
    this.checkpoints.delete(key(ref));
  }

  async discardCheckpoint(ref: CheckpointRef): Promise<void> {
    this.checkpoints.delete(key(ref));
  }

  async listCheckpoints(kind: CheckpointRef['kind']): Promise<string[]> {
    return [...this.checkpoints.keys()].filter((k) => k.startsWith(`${kind}/`)).map((k) => k.slice(kind.length + 1));
  }

  async restore(spec: SandboxSpec, source: RestoreSource): Promise<void> {
    this.enter('restore', spec.id);
    if (!this.checkpointIsWhole(source.checkpoint)) throw new Error(`fake: no whole checkpoint ${key(source.checkpoint)}`);
    const existing = this.sandboxes.get(spec.id);
    if (existing?.container === 'running') throw new Error(`fake: sandbox ${spec.id} already runs`);
    this.sandboxes.set(spec.id, { spec, container: 'running', egress: spec.egress ?? existing?.egress });
  }

  async savedStateKey(spec: Pick<SandboxSpec, 'layers' | 'startCommand'>): Promise<string> {
    return `fake:${spec.layers.join(':')}:${spec.startCommand ?? ''}`;
  }

  async copyStopped(id: string, to: CheckpointRef): Promise<void> {
    this.enter('copyStopped', id);
    if (!this.checkpointIsWhole({ kind: 'pause', name: id })) throw new Error(`fake: ${id} has no whole pause checkpoint`);
    this.checkpoints.set(key(to), true);
  }
}

function key(ref: CheckpointRef): string {
  return `${ref.kind}/${ref.name}`;
}
