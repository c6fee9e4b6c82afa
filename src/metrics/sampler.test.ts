import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import type { Logger } from '../log.js';
import { FakeRuntime } from '../runtime/fake/fake-runtime.js';
import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { MetricSample, MetricsStore } from '../store/metrics-store.js';
import type { SandboxRecord } from '../store/sandbox-store.js';
import { MetricsSampler } from './sampler.js';

const MiB = 1024 * 1024;
const root = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-sampler-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** The runtime's disk figures are faked: a sandbox with a quota reports its disk's use; one
 *  without (undefined) has its writable layer, a real folder here, walked. */
class DiskFakeRuntime extends FakeRuntime {
  quota = new Map<string, number>();
  override async diskUsedBytes(id: string): Promise<number | undefined> {
    return this.quota.get(id);
  }
  override writableLayer(id: string): string {
    return path.join(root, id);
  }
  override async stats() {
    return { cpuUsageNs: 0, memoryUsedBytes: 1, memoryLimitBytes: 2, memoryCacheBytes: 0, pids: 1 };
  }
}

function service(records: Partial<SandboxRecord>[]): SandboxService {
  const events = new EventEmitter();
  return Object.assign(events, {
    sizesOfRunning: () => records,
    isRunning: () => true,
    get: (id: string) => records.find((r) => r.id === id),
  }) as unknown as SandboxService;
}

it("disk figures come from the runtime's quota; only a sandbox without one is walked", async () => {
  const runtime = new DiskFakeRuntime();
  runtime.quota.set('with-quota', 42 * MiB);
  mkdirSync(path.join(root, 'without-quota'));
  writeFileSync(path.join(root, 'without-quota', 'file'), Buffer.alloc(MiB, 1));
  // A folder the walk would count, which the quota'd sandbox's figure must not come from.
  mkdirSync(path.join(root, 'with-quota'));
  writeFileSync(path.join(root, 'with-quota', 'file'), Buffer.alloc(3 * MiB, 1));
  const records = ['with-quota', 'without-quota'].map((id) => ({ id, cpuCount: 1, diskSizeMB: 64, startedAt: Date.now() - 1000 }));
  const inserted: MetricSample[] = [];
  const store = { insert: (s: MetricSample[]) => inserted.push(...s) } as unknown as MetricsStore;
  const log = { error: (o: unknown) => assert.fail(JSON.stringify(o)) } as unknown as Logger;
  const sampler = new MetricsSampler(service(records), runtime, store, { intervalMs: 60_000, diskBudgetMs: 1000 }, log);

  await sampler.tick();
  const by = new Map(inserted.map((s) => [s.sandboxId, s]));
  assert.equal(by.get('with-quota')?.diskUsed, 42 * MiB);
  assert.equal(by.get('with-quota')?.diskTotal, 64 * MiB);
  const walked = by.get('without-quota')!.diskUsed;
  assert.ok(walked >= MiB && walked < 2 * MiB, `walked ${walked}`);

  runtime.quota.set('with-quota', 50 * MiB);
  inserted.length = 0;
  await sampler.tick();
  assert.equal(inserted.find((s) => s.sandboxId === 'with-quota')?.diskUsed, 50 * MiB, 'read again every tick');
});
