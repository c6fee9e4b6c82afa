// GET /metrics with 500 sandboxes: the server's own /metrics route and collectors
// (createOpsApp, serverPrometheus) served over HTTP on loopback, on a database that holds 500
// running sandboxes with an hour of 2-second samples each, 50 paused and a warm pool. In-process
// and without containers: a whole server would remove, at its start, running records whose
// containers do not exist, and 500 real sandboxes do not fit this machine's memory.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { createOpsApp } from '../src/api/ops-routes.js';
import { createLogger } from '../src/log.js';
import { loadConfig } from '../src/config.js';
import { RelayMeter } from '../src/metrics/prometheus-hooks.js';
import { serverPrometheus } from '../src/metrics/prometheus-sources.js';
import type { SandboxService } from '../src/sandboxes/sandbox-service.js';
import { ApiKeyStore } from '../src/store/api-key-store.js';
import { openDatabase } from '../src/store/database.js';
import { type MetricSample, MetricsStore } from '../src/store/metrics-store.js';
import { type SandboxState, SandboxStore } from '../src/store/sandbox-store.js';
import { percentile, type Row } from './stats.js';

const running = 500;
const paused = 50;
const pooled = 4;
const samplesEach = 1800;
const scrapes = 200;

function fill(dir: string): { db: ReturnType<typeof openDatabase>; key: string } {
  const db = openDatabase(path.join(dir, 'sandcastle.db'));
  const store = new SandboxStore(db);
  const metrics = new MetricsStore(db);
  const now = Date.now();
  const add = (i: number, state: SandboxState, templateId: string) =>
    store.insert({
      id: `bench${i}`, templateId, alias: templateId, state, envdToken: `token-${i}`, metadata: { user: `u${i}` }, envVars: {}, cpuCount: 2,
      memoryMB: 512, diskSizeMB: 1024, startedAt: now - 3_600_000, endAt: now + 300_000, autoPause: false, autoResume: false,
      allowInternetAccess: true, networkIndex: i, timeoutSeconds: 300, pausedAt: state === 'paused' ? now : null, idleTimeoutSeconds: null,
      networkRules: null, layers: ['/l'], startCmd: null,
    });
  const templates = ['base', 'code-interpreter-v1', 'py-data', 'node-web'];
  for (let i = 0; i < running; i++) add(i, 'running', templates[i % templates.length]!);
  for (let i = 0; i < paused; i++) add(running + i, 'paused', 'base');
  for (let i = 0; i < pooled; i++) add(running + paused + i, 'pooled', templates[i % 2]!);
  // Ten ticks per transaction: the fill is not what is measured.
  for (let t0 = 0; t0 < samplesEach; t0 += 10) {
    const batch: MetricSample[] = [];
    for (let t = t0; t < t0 + 10; t++) for (let i = 0; i < running; i++) {
      batch.push({ sandboxId: `bench${i}`, at: now - (samplesEach - t) * 2000, cpuCount: 2, cpuUsedPct: (i + t) % 100, memUsed: 40e6 + i, memTotal: 512 * 2 ** 20, memCache: 1e6, diskUsed: 1e7, diskTotal: 2 ** 30 });
    }
    metrics.insert(batch);
  }
  return { db, key: new ApiKeyStore(db).create('bench').key };
}

export async function metricsScrapeRows(): Promise<Row[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sandcastle-bench-metrics-'));
  const server = http.createServer();
  try {
    const { db, key } = fill(dir);
    const config = loadConfig({ dataDir: dir });
    const lifecycle = Object.assign(new EventEmitter(), { warmPaused: (): string[] => [] }) as unknown as SandboxService;
    const relays = { api: new RelayMeter(), public: new RelayMeter() };
    const prometheus = serverPrometheus(db, config, lifecycle, () => relays);
    const health = async () => ({ healthy: true, runtime: { healthy: true }, database: { healthy: true }, disk: { healthy: true } });
    const app = createOpsApp({ health, prometheus }, new ApiKeyStore(db), createLogger({ logLevel: 'silent' }));
    server.on('request', getRequestListener(app.fetch));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    const times: number[] = [];
    let bytes = 0;
    let series = 0;
    for (let i = 0; i < scrapes + 20; i++) {
      const t0 = performance.now();
      const res = await fetch(url, { headers: { Authorization: `Bearer ${key}` } });
      const text = await res.text();
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${text.slice(0, 200)}`);
      // The first scrapes warm the JIT and SQLite's page cache.
      if (i >= 20) times.push(ms);
      bytes = text.length;
      series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
    }
    db.close();
    return [{
      name: `/metrics scrape, ${running} running sandboxes (${series} series, ${Math.round(bytes / 1024)} KiB; in-process route on a filled database)`,
      unit: 'ms',
      p50: percentile(times, 50),
      p95: percentile(times, 95),
      target: '≤ 50',
    }];
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import('./stats.js');
  printTable(await metricsScrapeRows());
}
