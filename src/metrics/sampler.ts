// The metrics sampler: a sample of every running sandbox when it starts, every interval (2 s) and
// right before it stops, from its cgroup and its disk, stored in SQLite. Disk use comes from the
// runtime's own accounting (each sandbox's disk quota: one statfs); only a sandbox without one
// (disk quotas off) has its writable layer walked (disk-usage.ts). Samples are
// kept while the sandbox exists (also while paused) and go with it (the table's foreign key).
//
// cpuUsedPct is the share of the sandbox's own CPUs used since the previous sample, 0–100 (CPU
// time ÷ wall time ÷ cpuCount), as the hosted product reports it: a sandbox with 2 vCPUs keeping
// one busy shows 50. A first sample covers the time since the sandbox started.
import type { Logger } from '../log.js';
import type { Runtime, SandboxStats } from '../runtime/runtime.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { MetricSample, MetricsStore } from '../store/metrics-store.js';
import type { RunningSize } from '../store/sandbox-store.js';
import { DiskUsage } from './disk-usage.js';

const MiB = 1024 * 1024;

export interface SamplerOptions {
  intervalMs: number;
  /** Wall time per tick that disk walks may take (they resume on the next tick when cut). */
  diskBudgetMs?: number;
}

interface Known {
  cpuCount: number;
  diskTotal: number;
  startedAt: number;
  /** Previous CPU reading, for the rate. */
  cpuNs?: number;
  at?: number;
}

export class MetricsSampler {
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private readonly known = new Map<string, Known>();
  private readonly disk: DiskUsage;
  /** Sandboxes whose disk use is walked (no quota of their own): id → writable layer. */
  private walked = new Map<string, string>();
  private readonly onStarted = (id: string) => this.sampleNow(id);
  private readonly onStopping = (id: string) => {
    this.sampleNow(id);
    this.known.delete(id);
    this.walked.delete(id);
    this.disk.forget(id);
  };

  constructor(
    private readonly sandboxes: SandboxService,
    private readonly runtime: Runtime,
    private readonly store: MetricsStore,
    private readonly options: SamplerOptions,
    private readonly log: Logger,
  ) {
    // A layer's size is re-measured at most every 5 samples: writes move it slowly next to CPU.
    this.disk = new DiskUsage(options.intervalMs * 5);
  }

  start(): void {
    this.sandboxes.on('started', this.onStarted);
    this.sandboxes.on('stopping', this.onStopping);
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.sandboxes.off('started', this.onStarted);
    this.sandboxes.off('stopping', this.onStopping);
  }

  /** One round over every running sandbox; a round still reading when the next is due skips it. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const running = this.sandboxes.sizesOfRunning();
      const ids = new Set(running.map((r) => r.id));
      for (const id of this.known.keys()) if (!ids.has(id)) this.known.delete(id);
      for (const rec of running) this.remember(rec);
      const [stats, quota] = await Promise.all([
        Promise.all(running.map((r) => this.runtime.stats(r.id))),
        Promise.all(running.map((r) => this.runtime.diskUsedBytes(r.id).catch(() => undefined))),
      ]);
      this.walked = new Map(running.filter((_, i) => quota[i] === undefined).map((r) => [r.id, this.runtime.writableLayer(r.id)]));
      this.disk.track(this.walked);
      if (this.walked.size > 0) this.disk.advance(this.options.diskBudgetMs ?? 10);
      const now = Date.now();
      const samples: MetricSample[] = [];
      running.forEach((rec, i) => {
        const s = this.toSample(rec.id, this.known.get(rec.id), stats[i], quota[i] ?? this.disk.bytes(rec.id), now);
        if (s) samples.push(s);
      });
      this.store.insert(samples);
    } catch (err) {
      this.log.error({ err }, 'metrics sampler: a round failed');
    } finally {
      this.ticking = false;
    }
  }

  /** A sample of one sandbox now (when it starts, and right before it stops: the runtime's
   *  stats are read when called, before the event's emitter goes on to destroy the sandbox). */
  private sampleNow(id: string): void {
    const fail = (err: unknown) => this.log.error({ err, sandboxId: id }, 'metrics sampler: sampling a sandbox failed');
    try {
      if (!this.known.has(id)) {
        const rec = this.sandboxes.isRunning(id) ? this.sandboxes.get(id) : undefined;
        if (!rec) return;
        this.remember(rec);
      }
      const now = Date.now();
      const known = this.known.get(id);
      const walked = this.disk.bytes(id);
      Promise.all([this.runtime.stats(id), this.runtime.diskUsedBytes(id)]).then(([stats, quota]) => {
        const s = this.toSample(id, known, stats, quota ?? walked ?? this.walk(id), now);
        if (s) this.store.insert([s]);
      }).catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  /** A first figure for a sandbox without a disk quota, walked within the tick's budget. */
  private walk(id: string): number | undefined {
    if (!this.known.has(id)) return undefined;
    this.walked.set(id, this.runtime.writableLayer(id));
    this.disk.track(this.walked);
    this.disk.advance(this.options.diskBudgetMs ?? 10);
    return this.disk.bytes(id);
  }

  private remember(rec: RunningSize): void {
    if (this.known.has(rec.id)) return;
    this.known.set(rec.id, { cpuCount: rec.cpuCount, diskTotal: rec.diskSizeMB * MiB, startedAt: rec.startedAt });
  }

  private toSample(id: string, k: Known | undefined, stats: SandboxStats | undefined, disk: number | undefined, now: number): MetricSample | undefined {
    if (!k || !stats) return undefined;
    // The counter restarts with a new cgroup (a resumed sandbox): measure from zero then.
    const fresh = k.cpuNs === undefined || k.at === undefined || stats.cpuUsageNs < k.cpuNs;
    const cpuNs = fresh ? stats.cpuUsageNs : stats.cpuUsageNs - k.cpuNs!;
    const wallMs = fresh ? now - k.startedAt : now - k.at!;
    const pct = wallMs > 0 ? (cpuNs / 1e6 / wallMs / k.cpuCount) * 100 : 0;
    k.cpuNs = stats.cpuUsageNs;
    k.at = now;
    return {
      sandboxId: id,
      at: now,
      cpuCount: k.cpuCount,
      cpuUsedPct: Math.min(100, Math.max(0, pct)),
      memUsed: stats.memoryUsedBytes,
      memTotal: stats.memoryLimitBytes,
      memCache: stats.memoryCacheBytes,
      diskUsed: disk ?? 0,
      diskTotal: k.diskTotal,
    };
  }
}
